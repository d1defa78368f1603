// enrol: join a coordinator's network with an enrolment key (docs/coordinator.md, "HTTP API").
// The WireGuard key and the Ed25519 machine key are kept when the profile already has them for
// this coordinator, so enrolling again gets the same identity and address back. The
// coordinator's public key is learnt here (or checked against --coordinator-key) and pinned in
// the profile; every later map must be signed with it.
import { existsSync } from 'node:fs';
import { hostname as osHostname } from 'node:os';
import {
  CONTROL_LIMITS,
  CONTROL_PATHS,
  CONTROL_PROTOCOL,
  type EnrolRequest,
  type EnrolResponse,
} from '../../../src-shared/wire/control.js';
import { formatKey, generatePrivateKey, parseKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { readProfile, saveProfile } from '../config/load.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { controlRequest } from './http.js';
import { openSignedMap } from './netmap.js';
import { enrolProof, machineKeyFromSeed, newMachineSeed } from './sign.js';
import { storeMap } from './store.js';

/** EnrolOptions are `warren enrol`'s inputs. */
export interface EnrolOptions {
  coordinator: string;
  key: string;
  profilePath: string;
  stateDir: string;
  /** coordinatorKey, when given, must match what the coordinator presents. */
  coordinatorKey?: string;
  hostname?: string;
  listenPort?: number;
}

/** EnrolOutcome is what the person is told. */
export interface EnrolOutcome {
  response: EnrolResponse;
  profilePath: string;
  reusedKeys: boolean;
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

/** enrol runs the whole exchange and writes the profile; it throws with a message for people. */
export async function enrol(o: EnrolOptions): Promise<EnrolOutcome> {
  const url = coordinatorUrl(o);
  const { json, privateKey, seed, reusedKeys } = keysToUse(o.profilePath, url);
  const machine = machineKeyFromSeed(seed);
  const pinned = await coordinatorKey(url, o.coordinatorKey);

  const wgPublic = formatKey(publicKeyFromPrivate(privateKey));
  const ts = Date.now();
  const body: EnrolRequest = {
    protocol: CONTROL_PROTOCOL,
    enrolmentKey: o.key,
    wireguardPublicKey: wgPublic,
    machinePublicKey: formatKey(machine.publicKey),
    hostname: sanitizeHostname(o.hostname ?? osHostname()),
    ts,
    proof: enrolProof(machine, o.key, wgPublic, ts),
    endpoints: [],
  };
  const response = (await controlRequest({
    base: url,
    method: 'POST',
    path: CONTROL_PATHS.enrol,
    body,
    timeoutMs: 15_000,
  })) as EnrolResponse;
  checkResponse(response, pinned);

  const next = enrolledProfile(json, response, { url, pinned, privateKey, seed, listenPort: o.listenPort });
  saveProfile(o.profilePath, next);

  if (response.map) {
    // The first map is checked like any other before it is kept for the helper's start.
    openSignedMap(response.map, pinned, response.systemId, 0);
    storeMap(o.stateDir, response.map);
  }
  return { response, profilePath: o.profilePath, reusedKeys };
}

/** coordinatorUrl checks --coordinator and --key before anything goes on the network; it returns the URL without trailing slashes. */
function coordinatorUrl(o: EnrolOptions): string {
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
  if (!/^[A-Za-z0-9_-]{8,128}$/.test(o.key))
    throw new Error('--key does not look like an enrolment key (letters, digits, - and _)');
  return url;
}

/** EnrolKeys are the profile's JSON so far and the keys to enrol with. */
interface EnrolKeys {
  json: Record<string, unknown>;
  privateKey: Buffer;
  seed: Buffer;
  reusedKeys: boolean;
}

/** keysToUse reuses this profile's keys when it is already enrolled with the same coordinator, else makes new ones. */
function keysToUse(profilePath: string, url: string): EnrolKeys {
  let json: Record<string, unknown> = {};
  let privateKey = generatePrivateKey();
  let seed = newMachineSeed();
  let reusedKeys = false;
  if (existsSync(profilePath)) {
    const loaded = readProfile(profilePath);
    json = loaded.json;
    privateKey = loaded.profile.privateKey;
    const c = loaded.profile.coordinator;
    if (c && c.url === url) {
      seed = c.machineKey;
      reusedKeys = true;
    }
  }
  return { json, privateKey, seed, reusedKeys };
}

/** coordinatorKey fetches the key the coordinator presents, to pin; it must be `expected` when one is given. */
async function coordinatorKey(url: string, expected: string | undefined): Promise<Buffer> {
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
  if (expected !== undefined && formatKey(pinned) !== expected) {
    throw new Error(
      `the coordinator presents key ${formatKey(pinned)}, not the expected ${expected}; refusing to enrol`,
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
  k: { url: string; pinned: Buffer; privateKey: Buffer; seed: Buffer; listenPort: number | undefined },
): Record<string, unknown> {
  const next: Record<string, unknown> = { ...json };
  for (const key of ['Peers', 'Policies', 'Tags']) delete next[key];
  next.PrivateKey = formatKey(k.privateKey);
  next.VirtualAddress = response.virtualAddress;
  next.VirtualNetwork = response.virtualNetwork;
  if (k.listenPort !== undefined) next.ListenPort = k.listenPort;
  // Routes come from the coordinator's grants; the kill switch stays a local choice.
  if (typeof next.ExitNode === 'object' && next.ExitNode !== null) {
    const { KillSwitch } = next.ExitNode as { KillSwitch?: unknown };
    if (KillSwitch === undefined) delete next.ExitNode;
    else next.ExitNode = { KillSwitch };
  }
  next.Coordinator = {
    Url: k.url,
    PublicKey: formatKey(k.pinned),
    SystemId: response.systemId,
    Identity: response.identity,
    MachineKey: k.seed.toString('base64'),
  };
  return next;
}
