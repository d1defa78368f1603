// The profile's Coordinator section (docs/profile.md, "Coordinator key"): where the coordinator is, its pinned Ed25519
// public key, this system's id and issued identity there and its Ed25519 machine key. `warren enrol` writes it.
// With a coordinator, peers, policies and tags come from its signed network maps, so the
// profile must not also list them (two sources of truth would disagree silently).
// AllowFullTunnel is the one key here that is this machine's own choice: without it, a map's
// route for 0.0.0.0/0 (all of this machine's traffic through an exit node) is not applied, so a
// coordinator cannot take over a machine's traffic without its owner's consent.
import { parseKey } from '../../../src-shared/lib/keys.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { childPath, isObject, typeName, type Issues } from '../../../src-shared/lib/errors.js';

/** CoordinatorConfig is the normalised Coordinator section. */
export interface CoordinatorConfig {
  url: string;
  /** publicKey is the coordinator's Ed25519 key, pinned at enrolment. */
  publicKey: Buffer;
  systemId: string;
  /** identity is the one the coordinator issued at enrolment (never derived from the key), or
   * null in a profile enrolled before identities were issued, whose identity was its key's. */
  identity: string | null;
  /** machineKey is this system's Ed25519 seed (32 bytes); requests to the coordinator are signed with it. */
  machineKey: Buffer;
  /** allowFullTunnel lets the coordinator's maps route 0.0.0.0/0 through an exit node. */
  allowFullTunnel: boolean;
}

const KEYS = ['Url', 'PublicKey', 'SystemId', 'Identity', 'MachineKey', 'AllowFullTunnel'];
/** KEYS_FROM_COORDINATOR may not appear in a profile that has a Coordinator. */
const KEYS_FROM_COORDINATOR = ['Peers', 'Policies', 'Tags'];

/** coordinatorField validates Coordinator, or returns null when it is absent. */
export function coordinatorField(raw: Record<string, unknown>, is: Issues): CoordinatorConfig | null {
  if (!Object.hasOwn(raw, 'Coordinator')) return null;
  const v = raw.Coordinator;
  if (!isObject(v)) {
    is.add('Coordinator', `must be an object, not ${typeName(v)} (\`warren enrol\` writes it)`);
    return null;
  }
  for (const k of Object.keys(v)) if (!KEYS.includes(k)) is.add(childPath('Coordinator', k), 'unknown key');
  const before = is.count;
  const url = typeof v.Url === 'string' ? v.Url : undefined;
  if (url === undefined || !validUrl(url))
    is.add('Coordinator.Url', 'must be an http:// or https:// URL of at most 256 characters');
  const publicKey = key(v.PublicKey, 'Coordinator.PublicKey', is);
  const machineKey = key(v.MachineKey, 'Coordinator.MachineKey', is);
  const systemId = typeof v.SystemId === 'string' && /^[A-Za-z0-9_-]{1,64}$/.test(v.SystemId) ? v.SystemId : undefined;
  if (systemId === undefined)
    is.add('Coordinator.SystemId', 'must be the system id the coordinator gave (1-64 letters, digits, - or _)');
  if (v.AllowFullTunnel !== undefined && typeof v.AllowFullTunnel !== 'boolean')
    is.add(
      'Coordinator.AllowFullTunnel',
      "must be true or false (true lets the coordinator's maps send all of this system's traffic through an exit node)",
    );
  const identity = v.Identity === undefined ? null : v.Identity;
  if (identity !== null && (typeof identity !== 'string' || !isIdentity(identity)))
    is.add('Coordinator.Identity', 'must be the identity the coordinator issued (5 characters like G982V)');
  for (const k of KEYS_FROM_COORDINATOR) {
    if (Object.hasOwn(raw, k))
      is.add(
        k,
        'comes from the coordinator in a profile with Coordinator; remove it (or remove Coordinator for a static profile)',
      );
  }
  if (is.count > before) return null;
  return {
    url: url!.replace(/\/+$/, ''),
    publicKey: publicKey!,
    systemId: systemId!,
    identity: identity as string | null,
    machineKey: machineKey!,
    allowFullTunnel: v.AllowFullTunnel === true,
  };
}

function key(v: unknown, path: string, is: Issues): Buffer | undefined {
  try {
    return parseKey(v as string);
  } catch (e) {
    is.add(path, (e as Error).message);
    return undefined;
  }
}

function validUrl(s: string): boolean {
  if (s.length > 256) return false;
  try {
    const u = new URL(s);
    return (
      (u.protocol === 'http:' || u.protocol === 'https:') && u.username === '' && u.password === '' && u.hash === ''
    );
  } catch {
    return false;
  }
}
