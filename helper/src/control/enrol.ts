// enrol: join a coordinator's network with an enrolment key (docs/coordinator.md, "HTTP API").
// The WireGuard key and the Ed25519 machine key are kept when the profile already has them for
// this coordinator, so enrolling again gets the same identity and address back. The
// coordinator's public key is pinned in the profile and every later map must be signed with it,
// so it must not come from whoever answers: over plain http:// anyone on the path could answer
// with their own. There it must be given (--coordinator-key, from `warren-coordinator key`) or
// the person must say --insecure; over https:// the certificate vouches for the server, and a
// given key is checked too.
import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import {
  CONTROL_LIMITS,
  CONTROL_PATHS,
  CONTROL_PROTOCOL,
  type EnrolRequest,
  type EnrolResponse,
} from '../../../src-shared/wire/control.js';
import { isObject } from '../../../src-shared/lib/errors.js';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { formatKey, generatePrivateKey, parseKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { readProfile, saveProfile } from '../config/load.js';
import type { CoordinatorConfig } from '../config/validate-coordinator.js';
import { IPV6_MIN_MTU, ipv6MtuProblem } from '../config/validate-ipv6.js';
import { PROFILE_DEFAULTS } from '../config/schema.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { controlRequest } from './http.js';
import { openSignedMap } from '../../../src-shared/lib/netmap/open.js';
import { enrolProof, machineKeyFromSeed, newMachineSeed, type MachineKey } from './sign.js';
import { storeMap } from './store.js';

/** EnrolOptions are `warren enrol`'s inputs. */
export interface EnrolOptions {
  coordinator: string;
  key: string;
  profilePath: string;
  stateDir: string;
  /** coordinatorKey, when given, must match what the coordinator presents (base64, 32 bytes). */
  coordinatorKey?: string;
  /** insecure allows plain http:// without coordinatorKey: the key that answers is pinned unchecked. */
  insecure?: boolean;
  /** allowFullTunnel writes Coordinator.AllowFullTunnel: the coordinator's maps may route all of
   * this system's traffic through an exit node. Enrolling again with the same coordinator and
   * key keeps an earlier yes; another coordinator or key starts without it. */
  allowFullTunnel?: boolean;
  /** serveExitNode writes ExitNode.Serve: the coordinator's maps may make this system an exit node
   * (forwarding and NAT for the subnets its Routes name). Kept like allowFullTunnel. */
  serveExitNode?: boolean;
  hostname?: string;
  listenPort?: number;
  /** adapterName, when given, is written as Adapter.Name (the TUN device); other Adapter
   * settings in the profile stay. */
  adapterName?: string;
}

/** EnrolOutcome is what the person is told. */
export interface EnrolOutcome {
  response: EnrolResponse;
  profilePath: string;
  reusedKeys: boolean;
  /** fingerprint is the pinned key's fingerprint (src-shared/lib/fingerprint.ts), to compare by eye. */
  fingerprint: string;
  /** keyChecked: the pinned key was the one the caller gave (coordinatorKey). */
  keyChecked: boolean;
  /** allowFullTunnel: the written profile lets the coordinator route all traffic through an exit node. */
  allowFullTunnel: boolean;
  /** serveExitNode: the written profile lets the coordinator make this system an exit node. */
  serveExitNode: boolean;
  /** ipv6Withheld says why the coordinator's IPv6 address was left out of the profile (the
   * system runs IPv4 only), or is null when it was written or there was none. */
  ipv6Withheld: string | null;
}

/** InsecureEnrolment refuses plain http:// without the coordinator's key. Callers that name
 * their own way to give the key (a flag, a field) reword it with insecureRefusal. */
export class InsecureEnrolment extends Error {
  constructor() {
    super(insecureRefusal("give the coordinator's key", 'choose to enrol without the check'));
  }
}

/** insecureRefusal says why plain http:// needs the key and what to do; giveKey and skip name
 * how the caller gives the key and skips the check. */
export function insecureRefusal(giveKey: string, skip: string): string {
  return (
    "refusing to enrol over plain http:// without the coordinator's key: anyone on the network path " +
    'could pose as the coordinator and have its own key pinned here, and then decide what this system ' +
    "trusts and where its traffic goes. Ask the coordinator's administrator for its key " +
    `(\`warren-coordinator key\` prints it) and ${giveKey}, or use the coordinator's https:// address; ` +
    `only on a network you trust, ${skip}`
  );
}

/** sanitizeHostname keeps what a DNS label allows, so the coordinator gets a usable default name. */
export function sanitizeHostname(h: string): string {
  const s = h
    .toLowerCase()
    .split('.')[0]!
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, CONTROL_LIMITS.hostnameChars);
  return s || 'system';
}

/** Exchange asks the coordinator to enrol the system with these keys and returns its answer:
 * with an enrolment key (enrol below) or by signing in (login.ts). */
export type Exchange = (c: {
  url: string;
  wgPublic: string;
  machine: MachineKey;
  hostname: string;
}) => Promise<EnrolResponse>;

/** enrol runs the whole exchange and writes the profile; it throws with a message for people. */
export function enrol(o: EnrolOptions): Promise<EnrolOutcome> {
  return enrolVia(o, async ({ url, wgPublic, machine, hostname }) => {
    const ts = Date.now();
    const body: EnrolRequest = {
      protocol: CONTROL_PROTOCOL,
      enrolmentKey: o.key,
      wireguardPublicKey: wgPublic,
      machinePublicKey: formatKey(machine.publicKey),
      hostname,
      ts,
      proof: enrolProof(machine, o.key, wgPublic, ts),
      endpoints: [],
    };
    return (await controlRequest({
      base: url,
      method: 'POST',
      path: CONTROL_PATHS.enrol,
      body,
      timeoutMs: 15_000,
    })) as EnrolResponse;
  });
}

/** enrolVia checks the inputs, picks the keys, pins the coordinator's key, runs exchange and
 * writes the profile. o.key is only checked when given (signing in has none). */
export async function enrolVia(
  o: Omit<EnrolOptions, 'key'> & { key?: string },
  exchange: Exchange,
): Promise<EnrolOutcome> {
  const { url, expected } = checkInputs(o);
  const { json, privateKey, seed, reusedKeys, previous } = keysToUse(o.profilePath, url);
  const machine = machineKeyFromSeed(seed);
  const pinned = await coordinatorKey(url, expected);
  const allowFullTunnel =
    o.allowFullTunnel === true || (previous?.allowFullTunnel === true && previous.publicKey.equals(pinned));
  const serveExitNode =
    o.serveExitNode === true || (previous !== null && previous.publicKey.equals(pinned) && servesExitNode(json));

  const wgPublic = formatKey(publicKeyFromPrivate(privateKey));
  const hostname = sanitizeHostname(o.hostname ?? osHostname());
  const response = await exchange({ url, wgPublic, machine, hostname });
  checkResponse(response, pinned);

  const ipv6Withheld = ipv6WithheldReason(json, response);
  const next = enrolledProfile(json, response, ipv6Withheld === null, {
    url,
    pinned,
    privateKey,
    seed,
    listenPort: o.listenPort,
    adapterName: o.adapterName,
    allowFullTunnel,
    serveExitNode,
  });
  saveProfile(o.profilePath, next);

  if (response.map) {
    // The first map is checked like any other before it is kept for the helper's start.
    openSignedMap(response.map, pinned, response.systemId, 0);
    storeMap(o.stateDir, response.map);
  }
  return {
    response,
    profilePath: o.profilePath,
    reusedKeys,
    fingerprint: keyFingerprint(pinned),
    keyChecked: expected !== undefined,
    allowFullTunnel,
    serveExitNode,
    ipv6Withheld,
  };
}

/** ipv6WithheldReason: an adapter MTU under 1280 cannot carry IPv6 (RFC 8200 §5), and the profile
 * would refuse VirtualAddress6 with it on every start. Enrolment then leaves the IPv6 address
 * out rather than fail after the coordinator has used the key: the system joins over IPv4, and
 * the reason says how to get IPv6 as well. */
function ipv6WithheldReason(json: Record<string, unknown>, response: EnrolResponse): string | null {
  if (typeof response.virtualAddress6 !== 'string') return null;
  const adapter = json.Adapter as { Mtu?: unknown } | undefined;
  const mtu = typeof adapter?.Mtu === 'number' ? adapter.Mtu : PROFILE_DEFAULTS.adapterMtu;
  if (mtu >= IPV6_MIN_MTU) return null;
  return `IPv6 address ${response.virtualAddress6} not used: Adapter.Mtu ${ipv6MtuProblem(mtu)} and enrol again`;
}

/** checkInputs checks the URL, the enrolment key and the coordinator key before anything goes on
 * the network; it returns the URL without trailing slashes and the expected key, if given. */
function checkInputs(o: Omit<EnrolOptions, 'key'> & { key?: string }): { url: string; expected: Buffer | undefined } {
  const url = o.coordinator.replace(/\/+$/, '');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `--coordinator ${JSON.stringify(o.coordinator.slice(0, 80))} is not a URL (expected https://HOST:PORT)`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:')
    throw new Error('--coordinator must be an http:// or https:// URL');
  // The profile refuses these on every later start (config/validate-coordinator.ts), so an
  // enrolment that wrote one would consume the key for a system that can never run.
  if (parsed.username !== '' || parsed.password !== '')
    throw new Error('--coordinator must not carry a user name or password (USER@HOST); give https://HOST:PORT');
  if (parsed.hash !== '' || url.length > 256)
    throw new Error('--coordinator must be https://HOST:PORT, without a #fragment and at most 256 characters');
  // Checked here, not when the profile is saved: by then the coordinator has used the key.
  if (o.adapterName !== undefined && !/^[A-Za-z0-9_.-]{1,15}$/.test(o.adapterName))
    throw new Error(
      `--adapter ${JSON.stringify(o.adapterName.slice(0, 40))} is not a device name (1-15 characters of A-Z a-z 0-9 _ . -)`,
    );
  const keyProblem = o.key === undefined ? null : enrolmentKeyProblem(o.key);
  if (keyProblem !== null) throw new Error(keyProblem);
  let expected: Buffer | undefined;
  if (o.coordinatorKey !== undefined) {
    try {
      expected = parseKey(o.coordinatorKey.trim());
    } catch {
      throw new Error(
        "the coordinator key is not one: it is 44 characters of base64, as `warren-coordinator key` prints it on the coordinator's machine",
      );
    }
  }
  if (parsed.protocol === 'http:' && expected === undefined && o.insecure !== true) throw new InsecureEnrolment();
  return { url, expected };
}

/** enrolmentKeyProblem says what is wrong with text as an enrolment key, or null when it has a
 * key's shape. The coordinator issues "wek-" and 43 base64url characters (warren-coordinator
 * keys create); anything of 8 to 128 such characters is sent, and the coordinator judges it. */
export function enrolmentKeyProblem(key: string): string | null {
  if (/^[A-Za-z0-9_-]{8,128}$/.test(key)) return null;
  const shape =
    'an enrolment key is `wek-` followed by 43 letters, digits, - and _, as `warren-coordinator keys create` prints it';
  if (key.length < 8 || key.length > 128)
    return `--key does not look like an enrolment key: it has ${key.length} characters; ${shape}`;
  return `--key does not look like an enrolment key: it contains characters other than letters, digits, - and _; ${shape}`;
}

/** EnrolKeys are the profile's JSON so far and the keys to enrol with; previous is its
 * Coordinator section when it is enrolled with the same coordinator URL. */
interface EnrolKeys {
  json: Record<string, unknown>;
  privateKey: Buffer;
  seed: Buffer;
  reusedKeys: boolean;
  previous: CoordinatorConfig | null;
}

/** keysToUse reuses this profile's keys when it is already enrolled with the same coordinator, else makes new ones. */
function keysToUse(profilePath: string, url: string): EnrolKeys {
  let json: Record<string, unknown> = {};
  let privateKey = generatePrivateKey();
  let seed = newMachineSeed();
  let reusedKeys = false;
  let previous: CoordinatorConfig | null = null;
  if (existsSync(profilePath)) {
    const loaded = readProfile(profilePath);
    json = loaded.json;
    privateKey = loaded.profile.privateKey;
    const c = loaded.profile.coordinator;
    if (c && c.url === url) {
      seed = c.machineKey;
      reusedKeys = true;
      previous = c;
    }
  }
  return { json, privateKey, seed, reusedKeys, previous };
}

/** coordinatorKey fetches the key the coordinator presents, to pin; it must be `expected` when one is given. */
async function coordinatorKey(url: string, expected: Buffer | undefined): Promise<Buffer> {
  const info = (await controlRequest({
    base: url,
    method: 'GET',
    path: CONTROL_PATHS.info,
    timeoutMs: 10_000,
    maxBytes: 64 * 1024,
  })) as { publicKey?: unknown };
  let pinned: Buffer;
  try {
    pinned = parseKey(String(info?.publicKey ?? ''));
  } catch {
    throw new Error(`${url} did not present a coordinator key; is it a Warren coordinator?`);
  }
  if (expected !== undefined && !pinned.equals(expected)) {
    throw new Error(
      `${url} presents the key ${formatKey(pinned)} (fingerprint ${keyFingerprint(pinned)}), not the coordinator key ` +
        `you gave, ${formatKey(expected)} (fingerprint ${keyFingerprint(expected)}): something else may be answering ` +
        "at that address; refusing to enrol. Check the URL and the key with the coordinator's administrator",
    );
  }
  return pinned;
}

/** checkResponse refuses an answer that is malformed or signed by another key. */
function checkResponse(response: EnrolResponse, pinned: Buffer): void {
  // The answer is printed and written into the profile (which validates it again on save).
  if (
    typeof response?.systemId !== 'string' ||
    !/^[A-Za-z0-9_-]{1,64}$/.test(response.systemId) ||
    // The coordinator issues the identity (docs/coordinator.md "Identities"); it is not the key's.
    typeof response.identity !== 'string' ||
    !isIdentity(response.identity) ||
    typeof response.virtualAddress !== 'string' ||
    typeof response.coordinatorPublicKey !== 'string' ||
    !['pending', 'active', 'revoked'].includes(response.state) ||
    !Array.isArray(response.tags) ||
    response.tags.length > 64 ||
    !response.tags.every((t) => typeof t === 'string' && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(t))
  ) {
    throw new Error('the coordinator answered the enrolment with something unexpected');
  }
  if (response.coordinatorPublicKey !== formatKey(pinned))
    throw new Error('the coordinator changed its key during enrolment; refusing');
}

/** enrolledProfile is the profile JSON after enrolment: local settings (port, adapter, proxies) stay, what the coordinator now owns goes. */
function enrolledProfile(
  json: Record<string, unknown>,
  response: EnrolResponse,
  withIpv6: boolean,
  k: {
    url: string;
    pinned: Buffer;
    privateKey: Buffer;
    seed: Buffer;
    listenPort: number | undefined;
    adapterName: string | undefined;
    allowFullTunnel: boolean;
    serveExitNode: boolean;
  },
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...json };
  for (const key of ['Peers', 'Policies', 'Tags']) delete next[key];
  next.PrivateKey = formatKey(k.privateKey);
  next.VirtualAddress = response.virtualAddress;
  next.VirtualNetwork = response.virtualNetwork;
  // The IPv6 address and network, when the coordinator has them (the profile validates them on
  // save: an address outside the network is refused there); an older coordinator has none, and
  // values from an earlier enrolment must not outlive it.
  delete next.VirtualAddress6;
  delete next.VirtualNetwork6;
  if (withIpv6 && typeof response.virtualAddress6 === 'string' && typeof response.virtualNetwork6 === 'string') {
    next.VirtualAddress6 = response.virtualAddress6;
    next.VirtualNetwork6 = response.virtualNetwork6;
  }
  if (k.listenPort !== undefined) next.ListenPort = k.listenPort;
  if (k.adapterName !== undefined)
    next.Adapter = { ...(isObject(next.Adapter) ? next.Adapter : {}), Name: k.adapterName };
  // Routes come from the coordinator's grants; the kill switch stays a local choice, and serving
  // as an exit node is the consent given (or kept) above.
  const { KillSwitch } = (isObject(next.ExitNode) ? next.ExitNode : {}) as { KillSwitch?: unknown };
  const exitNode = {
    ...(KillSwitch === undefined ? {} : { KillSwitch }),
    ...(k.serveExitNode ? { Serve: true } : {}),
  };
  if (Object.keys(exitNode).length === 0) delete next.ExitNode;
  else next.ExitNode = exitNode;
  next.Coordinator = {
    Url: k.url,
    PublicKey: formatKey(k.pinned),
    SystemId: response.systemId,
    Identity: response.identity,
    MachineKey: k.seed.toString('base64'),
    ...(k.allowFullTunnel ? { AllowFullTunnel: true } : {}),
  };
  return next;
}

// servesExitNode tells whether the profile JSON so far opts in to serving as an exit node.
function servesExitNode(json: Record<string, unknown>): boolean {
  return isObject(json.ExitNode) && json.ExitNode.Serve === true;
}
