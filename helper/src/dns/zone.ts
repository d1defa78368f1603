// Warren's DNS zone (docs/architecture.md, "Policy: firewall and DNS"): an immutable table
// built from the systems this system may reach. It holds NAME.zone for each configured DNS
// name, IDENTITY.id.zone for each system and TAG.tag.zone with one A record per system carrying
// the tag, and one AAAA record (RFC 3596) beside each A for a system with an IPv6 address. A name
// whose systems have no IPv6 address answers AAAA with NODATA, never NXDOMAIN: the name exists
// (RFC 2308 §2.2), and an NXDOMAIN would make a dual-stack resolver drop its A answer too. Only reachable systems and this system appear, so any other name in the zone is
// NXDOMAIN and the zone does not reveal who exists. Names outside the zone are SERVFAIL so that
// the OS resolver falls through to its next nameserver (glibc does on SERVFAIL).
import { parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIp, parseIp } from '../../../src-shared/lib/ip/addr.js';
import { isLabel, isWithin, MAX_NAME, normaliseName, parentsBelow } from './names.js';

/** DEFAULT_ZONE is the zone when the profile's Dns.Zone is absent. */
export const DEFAULT_ZONE = 'warren.internal';

/**
 * DEFAULT_TTL is short on purpose: a policy change must stop a name from resolving quickly,
 * and a cached answer outlives the policy that allowed it by up to one TTL.
 */
export const DEFAULT_TTL = 10;

/** MAX_RECORDS bounds the table (names plus addresses) whatever the configuration says. */
export const MAX_RECORDS = 100_000;

/** ZoneSystem is one system the zone names: this one or a reachable peer. */
export interface ZoneSystem {
  identity: string;
  address: string | null; // IPv4
  /** address6 is the IPv6 address (AAAA); null or absent for an IPv4-only system. */
  address6?: string | null;
  names: string[]; // DnsNames, relative to the zone (a name ending in .zone is accepted too)
  tags: string[]; // `dev` or `tag:dev`
}

/** ZoneInput is what buildZone needs; reachable is computed by the caller from policy. */
export interface ZoneInput {
  zone?: string;
  ttl?: number;
  self: ZoneSystem;
  reachable: ZoneSystem[];
}

/** ZoneResult is the answer to one question; NOERROR with no addresses is NODATA. */
export type ZoneResult =
  { rcode: 'NOERROR'; addresses: readonly string[]; soa: boolean } | { rcode: 'NXDOMAIN' } | { rcode: 'SERVFAIL' };

/** Zone is the lookup table; lookup never throws. */
export interface Zone {
  readonly origin: string;
  readonly ttl: number;
  /** serial changes with every build, for the SOA record. */
  readonly serial: number;
  /** skipped says, one line each, which configured names or systems were left out and why. */
  readonly skipped: readonly string[];
  /** size is the number of names in the table, structural ones included. */
  readonly size: number;
  lookup(name: string, qtype: string): ZoneResult;
}

const RESERVED_UNDER_ORIGIN = new Set(['id', 'tag']);
const NODATA: ZoneResult = Object.freeze({
  rcode: 'NOERROR',
  addresses: Object.freeze([]) as readonly string[],
  soa: false,
});
const APEX_SOA: ZoneResult = Object.freeze({
  rcode: 'NOERROR',
  addresses: Object.freeze([]) as readonly string[],
  soa: true,
});
const NXDOMAIN: ZoneResult = Object.freeze({ rcode: 'NXDOMAIN' });
const SERVFAIL: ZoneResult = Object.freeze({ rcode: 'SERVFAIL' });
let lastSerial = 0;

/** buildZone builds the table; it throws only if the zone name itself is invalid. */
export function buildZone(input: ZoneInput): Zone {
  const origin = normaliseName(input.zone ?? DEFAULT_ZONE);
  if (origin === null) throw new Error(`DNS zone ${JSON.stringify(input.zone)} is not a valid domain name`);
  const ttl = Number.isInteger(input.ttl) && input.ttl! >= 0 && input.ttl! <= 86400 ? input.ttl! : DEFAULT_TTL;
  const b = new ZoneBuilder(origin);
  b.addSystem(input.self, 'this system');
  for (const peer of Array.isArray(input.reachable) ? input.reachable : []) b.addSystem(peer, 'peer');

  const frozen = new Map<string, Records>();
  for (const [name, set] of b.table) {
    const all = [...set];
    frozen.set(
      name,
      Object.freeze({
        a: Object.freeze(all.filter((x) => !x.includes(':'))),
        aaaa: Object.freeze(all.filter((x) => x.includes(':'))),
      }),
    );
  }
  lastSerial = Math.max(lastSerial + 1, Math.floor(Date.now() / 1000));
  const serial = lastSerial >>> 0;
  const lookup = zoneLookup(origin, frozen);
  return Object.freeze({ origin, ttl, serial, skipped: Object.freeze(b.skipped), size: frozen.size, lookup });
}

/** Records are one name's addresses by record type. */
interface Records {
  readonly a: readonly string[];
  readonly aaaa: readonly string[];
}

/** addressesOf checks a system's addresses: the IPv4 one and the IPv6 one, each optional, at
 * least one present. It returns them (IPv6 in RFC 5952 text), or why the system is left out. */
function addressesOf(sys: ZoneSystem): string[] | { reason: string } {
  const out: string[] = [];
  if (sys.address !== null && sys.address !== undefined) {
    if (typeof sys.address !== 'string' || parseIPv4(sys.address) === null)
      return { reason: `address ${JSON.stringify(sys.address)} is not an IPv4 address` };
    out.push(sys.address);
  }
  if (sys.address6 !== null && sys.address6 !== undefined) {
    const a = typeof sys.address6 === 'string' ? parseIp(sys.address6) : null;
    if (a === null || a.family !== 6)
      return { reason: `address ${JSON.stringify(sys.address6)} is not an IPv6 address` };
    out.push(formatIp(a));
  }
  if (out.length === 0) return { reason: 'has no address' };
  return out;
}

/** ZoneBuilder fills the table for buildZone, within MAX_RECORDS, noting what it leaves out. */
class ZoneBuilder {
  readonly skipped: string[] = [];
  readonly table = new Map<string, Set<string>>();
  private records = 0;

  constructor(private readonly origin: string) {
    this.table.set(origin, new Set());
  }

  /** addSystem adds a system's identity name, DNS names and tag names, all pointing at its addresses. */
  addSystem(sys: ZoneSystem, role: string): void {
    const origin = this.origin;
    const identity = typeof sys?.identity === 'string' ? sys.identity.toLowerCase() : '';
    if (!/^[a-z0-9]{1,63}$/.test(identity)) {
      this.skipped.push(`${role} ${JSON.stringify(sys?.identity)}: identity is not 1-63 letters and digits`);
      return;
    }
    const who = `${role} ${identity.toUpperCase()}`;
    const addresses = addressesOf(sys);
    if (!Array.isArray(addresses)) {
      this.skipped.push(`${who}: ${addresses.reason}`);
      return;
    }
    this.add(`${identity}.id.${origin}`, addresses, who);
    for (const raw of Array.isArray(sys.names) ? sys.names : []) {
      const rel = relativeName(raw, origin);
      if (typeof rel !== 'string') {
        this.skipped.push(`${who}: DNS name ${JSON.stringify(raw)} ${rel.reason}`);
        continue;
      }
      this.add(`${rel}.${origin}`, addresses, `${who} DNS name ${rel}`);
    }
    for (const raw of Array.isArray(sys.tags) ? sys.tags : []) {
      const tag = typeof raw === 'string' ? raw.toLowerCase().replace(/^tag:/, '') : '';
      if (!isLabel(tag)) {
        this.skipped.push(`${who}: tag ${JSON.stringify(raw)} is not one DNS label ([a-z0-9-], 1-63 characters)`);
        continue;
      }
      this.add(`${tag}.tag.${origin}`, addresses, `${who} tag ${tag}`);
    }
  }

  private add(name: string, addresses: readonly string[], why: string): void {
    if (name.length > MAX_NAME) {
      this.skipped.push(`${why}: ${name} is longer than ${MAX_NAME} characters`);
      return;
    }
    if (this.records >= MAX_RECORDS) {
      this.skipped.push(`${why}: the zone already holds ${MAX_RECORDS} records`);
      return;
    }
    let set = this.table.get(name);
    if (!set) {
      set = new Set();
      this.table.set(name, set);
      this.records++;
      // Empty non-terminals must exist (NOERROR) or resolvers that cut on NXDOMAIN
      // (RFC 8020) would hide the names below them.
      for (const p of parentsBelow(name, this.origin)) if (!this.table.has(p)) this.table.set(p, new Set());
    }
    for (const address of addresses) {
      if (set.has(address)) continue;
      set.add(address);
      this.records++;
    }
  }
}

/** zoneLookup answers one question from the frozen table; it never throws. */
function zoneLookup(origin: string, frozen: ReadonlyMap<string, Records>): Zone['lookup'] {
  return (rawName: string, qtype: string): ZoneResult => {
    if (typeof rawName !== 'string') return SERVFAIL;
    const lower = rawName.toLowerCase().replace(/\.$/, '');
    const name = normaliseName(lower);
    if (name === null) return isWithin(lower, origin) ? NXDOMAIN : SERVFAIL;
    if (!isWithin(name, origin)) return SERVFAIL;
    const records = frozen.get(name);
    if (records === undefined) return NXDOMAIN;
    if (name === origin && qtype === 'SOA') return APEX_SOA;
    const addresses =
      qtype === 'A'
        ? records.a
        : qtype === 'AAAA'
          ? records.aaaa
          : qtype === 'ANY'
            ? [...records.a, ...records.aaaa]
            : [];
    return addresses.length > 0 ? { rcode: 'NOERROR', addresses, soa: false } : NODATA;
  };
}

// relativeName turns a configured DNS name into labels below the origin, or says why not.
function relativeName(raw: unknown, origin: string): string | { reason: string } {
  if (typeof raw !== 'string') return { reason: 'is not a string' };
  let name = normaliseName(raw);
  if (name === null) return { reason: 'is not a valid DNS name (labels of 1-63 characters from a-z, 0-9 and -)' };
  if (name === origin) return { reason: 'is the zone itself' };
  if (name.endsWith('.' + origin)) name = name.slice(0, -(origin.length + 1));
  const top = name.slice(name.lastIndexOf('.') + 1);
  if (RESERVED_UNDER_ORIGIN.has(top)) return { reason: `is reserved: ${top}.${origin} holds identities and tags` };
  return name;
}
