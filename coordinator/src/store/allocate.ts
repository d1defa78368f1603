// Virtual address allocation: a random free host address in the virtual network. Random rather
// than sequential so an address says nothing about enrolment order or fleet size; an address
// stays with its system until the system is revoked or (ephemeral) removed. Identities are drawn
// at random too, but are never given back (registry.ts, docs/coordinator.md "Identities").
import { randomInt } from 'node:crypto';
import { cidrIsCanonical, formatCidr, parseCidr, prefixMask, type Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIdentity, IDENTITY_SPACE } from '../../../src-shared/lib/identity.js';

/** NETWORK_LIMITS: a /30 is the smallest network with room for two systems; a /8 is plenty. */
export const NETWORK_LIMITS = { minBits: 8, maxBits: 30 } as const;

/** RANDOM_TRIES is how many random picks are tried before the exhaustive scan. */
const RANDOM_TRIES = 64;

/** parseNetwork reads the --network flag: a canonical IPv4 prefix from /8 to /30. */
export function parseNetwork(text: string): Cidr | { problem: string } {
  const c = parseCidr(text);
  if (!c) return { problem: `${JSON.stringify(text.slice(0, 40))} is not an IPv4 prefix like 100.64.0.0/10` };
  if (!cidrIsCanonical(c)) {
    return {
      problem: `${text} has host bits set; did you mean ${formatCidr({ addr: (c.addr & prefixMask(c.bits)) >>> 0, bits: c.bits })}?`,
    };
  }
  if (c.bits < NETWORK_LIMITS.minBits || c.bits > NETWORK_LIMITS.maxBits) {
    return {
      problem: `the virtual network must be from /${NETWORK_LIMITS.minBits} to /${NETWORK_LIMITS.maxBits}, not /${c.bits}`,
    };
  }
  return c;
}

/** hostRange returns the first and last usable host address (network and broadcast excluded). */
export function hostRange(net: Cidr): { first: number; last: number } {
  const size = 2 ** (32 - net.bits);
  return { first: net.addr + 1, last: net.addr + size - 2 };
}

/** isHostAddress tells whether addr is a usable host address of net. */
export function isHostAddress(net: Cidr, addr: number): boolean {
  const { first, last } = hostRange(net);
  return addr >= first && addr <= last;
}

/** AddressSpaceFull is thrown when every host address is taken. */
export class AddressSpaceFull extends Error {
  override name = 'AddressSpaceFull';
}

/** allocateAddress picks a random host address of net that inUse refuses. usedCount lets it
 * give up at once when the network is full instead of scanning millions of addresses. */
export function allocateAddress(
  net: Cidr,
  inUse: (addr: number) => boolean,
  usedCount: number,
  random: (min: number, max: number) => number = randomInt,
): number {
  const { first, last } = hostRange(net);
  const hosts = last - first + 1;
  if (usedCount >= hosts) throw new AddressSpaceFull(`every address of ${formatCidr(net)} is taken (${hosts} systems)`);
  for (let i = 0; i < RANDOM_TRIES; i++) {
    const addr = random(first, last + 1);
    if (!inUse(addr)) return addr;
  }
  // Nearly full: walk once round from a random start so the result is still not predictable.
  const start = random(0, hosts);
  for (let i = 0; i < hosts; i++) {
    const addr = first + ((start + i) % hosts);
    if (!inUse(addr)) return addr;
  }
  throw new AddressSpaceFull(`every address of ${formatCidr(net)} is taken`);
}

/** randomIdentity draws an identity uniformly from the whole space (node:crypto). */
export function randomIdentity(): string {
  return formatIdentity(randomInt(IDENTITY_SPACE));
}

/** identityCandidates yields identities to offer a new system: RANDOM_TRIES draws from random,
 * then every identity once from a random start, so one is found while any is left. The caller
 * skips the ones already issued. */
export function* identityCandidates(random: () => string = randomIdentity): Generator<string> {
  for (let i = 0; i < RANDOM_TRIES; i++) yield random();
  const start = randomInt(IDENTITY_SPACE);
  for (let i = 0; i < IDENTITY_SPACE; i++) yield formatIdentity((start + i) % IDENTITY_SPACE);
}
