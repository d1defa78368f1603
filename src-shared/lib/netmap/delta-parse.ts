// parseMapDelta and the delta signature (src-shared/wire/map-delta.ts). A delta is signed, but
// the helper runs as root and a coordinator bug must not become a helper crash or a memory
// blow-up, so sizes and counts are checked before anything is built from it: the payload's
// length before it is decoded, and the counts of peers and removals before any entry is
// looked at or any map is copied. The peers' fields are checked by parseNetworkMap on the
// map the delta makes (delta-apply.ts), exactly as a full map's are.
import { CONTROL_LIMITS, CONTROL_PROTOCOL, type MapPeer } from '../../wire/control.js';
import {
  DELTA_PARTS,
  MAP_DELTA_BATCH_SIGNATURE_CONTEXT,
  MAP_DELTA_SIGNATURE_CONTEXT,
  MAX_BATCH_PATH,
  type DeltaPart,
  type MapDelta,
} from '../../wire/map-delta.js';
import { verifyEd25519 } from '../ed25519.js';
import { MERKLE_HASH_BYTES, merkleClimb, merkleLeaf, type MerkleClimb, type ProvenNodes } from '../merkle.js';
import { isIdentity } from '../identity.js';
import { MAP_LIMITS } from './map-parse.js';
import { MapRejected } from './open.js';

/** DeltaRefused says why a delta was not used. needFull: the delta is sound but does not fit
 * the map this helper holds (another base, or a result that does not hash to its digest), so
 * the full map should be fetched; false for a delta that must not be trusted at all. */
export class DeltaRefused extends MapRejected {
  constructor(
    message: string,
    readonly needFull: boolean,
  ) {
    super(message);
  }
}

const CONTEXT = Buffer.from(MAP_DELTA_SIGNATURE_CONTEXT, 'utf8');
const BATCH_CONTEXT = Buffer.from(MAP_DELTA_BATCH_SIGNATURE_CONTEXT, 'utf8');

type Obj = Record<string, unknown>;

const identity = (v: unknown): boolean => typeof v === 'string' && isIdentity(v);

function bad(what: string): DeltaRefused {
  return new DeltaRefused(`malformed map delta: ${what}`, false);
}

function whole(v: unknown, what: string): number {
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < 0) throw bad(`${what} is not a whole number`);
  return v;
}

function countedArray(v: unknown, what: string, max: number): unknown[] {
  // The count is checked before any entry is read or copied.
  if (!Array.isArray(v)) throw bad(`${what} is not an array`);
  if (v.length > max) throw bad(`${what} has ${v.length} entries, more than the ${max} a map may hold`);
  return v;
}

/** parseMapDelta checks a decoded delta's shape and bounds. */
export function parseMapDelta(v: unknown): MapDelta {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) throw bad('not an object');
  const o = v as Obj;
  if (o.protocol !== CONTROL_PROTOCOL)
    throw bad(`this helper speaks protocol ${CONTROL_PROTOCOL}, the delta says ${String(o.protocol).slice(0, 16)}`);
  const peers = countedArray(o.peers, 'peers', MAP_LIMITS.peers);
  const removed = countedArray(o.removed, 'removed', MAP_LIMITS.peers);
  if (typeof o.set !== 'object' || o.set === null || Array.isArray(o.set)) throw bad('set is not an object');
  const setKeys = Object.keys(o.set);
  if (setKeys.length > DELTA_PARTS.length || !setKeys.every((k) => (DELTA_PARTS as readonly string[]).includes(k)))
    throw bad(`set may only hold ${DELTA_PARTS.join(', ')}`);
  if (typeof o.systemId !== 'string' || !/^[A-Za-z0-9_-]{1,64}$/.test(o.systemId)) throw bad('bad systemId');
  if (typeof o.digest !== 'string' || !/^[0-9a-f]{64}$/.test(o.digest)) throw bad('digest is not hex SHA-256');
  const baseVersion = whole(o.baseVersion, 'baseVersion');
  const version = whole(o.version, 'version');
  if (version <= baseVersion) throw bad(`version ${version} does not follow base ${baseVersion}`);
  peers.forEach((p, i) => {
    if (typeof p !== 'object' || p === null || Array.isArray(p) || !identity((p as Obj).identity))
      throw bad(`peers[${i}] is not a peer with an identity`);
  });
  removed.forEach((id, i) => {
    if (!identity(id)) throw bad(`removed[${i}] is not an identity`);
  });
  return {
    protocol: CONTROL_PROTOCOL,
    systemId: o.systemId,
    baseVersion,
    version,
    generatedAt: whole(o.generatedAt, 'generatedAt'),
    digest: o.digest,
    peers: peers as MapPeer[],
    removed: removed as string[],
    set: o.set as Partial<Record<DeltaPart, unknown>>,
  };
}

/** BatchProof is a delta's batch proof checked for its shape, and where its path led: the
 * message the batch signature covers (the context, the count and the root), or null when the
 * climb reached a node already proven (proven, merkle.ts ProvenNodes), which needs no
 * signature checked again. */
interface BatchProof {
  message: Buffer | null;
  climb: MerkleClimb;
  tree: string;
}

/** batchProof follows a delta's proof `batch` (map-delta.ts MAP_DELTA_BATCH_SIGNATURE_CONTEXT)
 * from its leaf: the delta's signed message, its context and then its payload, hashed in those
 * two parts rather than joined first (a delta is kilobytes). */
function batchProof(batch: unknown, payload: Buffer, tree: string, proven?: ProvenNodes): BatchProof {
  if (typeof batch !== 'object' || batch === null) throw bad('batch is not an object');
  const b = batch as Obj;
  const count = whole(b.count, 'batch.count');
  const index = whole(b.index, 'batch.index');
  const path = countedArray(b.path, 'batch.path', MAX_BATCH_PATH).map((h, i) => {
    if (typeof h !== 'string' || h.length !== 44) throw bad(`batch.path[${i}] is not a base64 SHA-256`);
    const bytes = Buffer.from(h, 'base64');
    if (bytes.length !== MERKLE_HASH_BYTES) throw bad(`batch.path[${i}] is not a base64 SHA-256`);
    return bytes;
  });
  const named = `${tree}/${count}`;
  const climb = merkleClimb(merkleLeaf(CONTEXT, payload), index, count, path, proven?.known(named));
  if (climb === null) throw bad('batch.path does not fit batch.count and batch.index');
  if (climb.known) return { message: null, climb, tree: named };
  const n = Buffer.alloc(4);
  n.writeUInt32BE(count);
  return { message: Buffer.concat([BATCH_CONTEXT, n, climb.top]), climb, tree: named };
}

/** openSignedDelta checks a signed delta's signature (the pinned coordinator key; the delta
 * context, or with a batch proof the batch context over the root its path leads to) and its
 * recipient, and parses it. proven, when given, remembers the batch trees' nodes already proven
 * (one pass signs thousands of deltas with a few signatures; a process holding many systems'
 * maps, the bench's simulated agents, checks each signature once and each path up to the
 * first node another's path proved). */
export function openSignedDelta(
  signed: unknown,
  coordinatorKey: Buffer,
  systemId: string,
  proven?: ProvenNodes,
): MapDelta {
  if (typeof signed !== 'object' || signed === null) throw bad('not a signed delta');
  const { payload, signature, batch } = signed as { payload?: unknown; signature?: unknown; batch?: unknown };
  if (typeof payload !== 'string' || typeof signature !== 'string' || signature.length > 128)
    throw bad('not a signed delta');
  if (payload.length > CONTROL_LIMITS.mapBytes * 2) throw bad(`over ${CONTROL_LIMITS.mapBytes} bytes`);
  const bytes = Buffer.from(payload, 'base64');
  const sig = Buffer.from(signature, 'base64');
  // The tree's name matters only to a cache of proven nodes: a helper, which keeps none, skips it.
  const tree = proven === undefined ? '' : `${coordinatorKey.toString('base64')}/${signature}`;
  const proof = batch === undefined ? null : batchProof(batch, bytes, tree, proven);
  const message = proof === null ? Buffer.concat([CONTEXT, bytes]) : proof.message;
  if (message !== null) {
    if (coordinatorKey.length !== 32 || sig.length !== 64 || !verifyEd25519(coordinatorKey, message, sig))
      throw new DeltaRefused('bad signature: the map delta was not signed by the pinned coordinator key', false);
    if (proof !== null) proven?.add(proof.tree, proof.climb);
  }
  let json: unknown;
  try {
    json = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw bad('not JSON');
  }
  const delta = parseMapDelta(json);
  if (delta.systemId !== systemId)
    throw new DeltaRefused(`the map delta is for system ${delta.systemId}, not this one (${systemId})`, false);
  return delta;
}
