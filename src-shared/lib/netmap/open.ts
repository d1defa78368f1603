// Opening a signed network map (src-shared/wire/control.ts SignedMap): the coordinator's
// Ed25519 signature over MAP_SIGNATURE_CONTEXT and the payload, checked with the key pinned at
// enrolment, then the recipient and the version, then every field (map-parse.ts). The helper
// opens every map it is given with this; the coordinator's simulated agents (bench) and tests
// open maps the same way, so what they measure is what a helper accepts.
import { MAP_SIGNATURE_CONTEXT, CONTROL_LIMITS, type NetworkMap, type SignedMap } from '../../wire/control.js';
import { verifyEd25519 } from '../ed25519.js';
import { parseNetworkMap, MapFormatError } from './map-parse.js';

/** MapRejected says why a map was not taken; the helper keeps its current one. */
export class MapRejected extends Error {}

/** StoredMap is a signed full map, or (with delta) the text of a map a signed delta made. */
export interface StoredMap extends SignedMap {
  delta?: SignedMap;
}

/** signedMapBytes is what a map signature covers: the context, then the payload bytes. */
export function signedMapBytes(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(MAP_SIGNATURE_CONTEXT, 'utf8'), payload]);
}

/** verifyMapSignature checks a SignedMap's signature over its payload bytes. */
export function verifyMapSignature(coordinatorKey: Buffer, payload: Buffer, signature: Buffer): boolean {
  if (coordinatorKey.length !== 32 || signature.length !== 64) return false;
  return verifyEd25519(coordinatorKey, signedMapBytes(payload), signature);
}

/** openSignedMap verifies and parses a signed map addressed to systemId. It refuses a version
 * lower than minVersion (replayed or out-of-order maps). */
export function openSignedMap(
  signed: unknown,
  coordinatorKey: Buffer,
  systemId: string,
  minVersion: number,
): NetworkMap {
  if (typeof signed !== 'object' || signed === null) throw new MapRejected('not a signed map');
  const { payload, signature } = signed as Partial<SignedMap>;
  if (typeof payload !== 'string' || typeof signature !== 'string' || payload.length > CONTROL_LIMITS.mapBytes * 2) {
    throw new MapRejected('not a signed map');
  }
  const bytes = Buffer.from(payload, 'base64');
  const sig = Buffer.from(signature, 'base64');
  if (!verifyMapSignature(coordinatorKey, bytes, sig)) {
    throw new MapRejected('bad signature: the map was not signed by the pinned coordinator key');
  }
  let map: NetworkMap;
  try {
    map = parseNetworkMap(JSON.parse(bytes.toString('utf8')));
  } catch (e) {
    throw new MapRejected(e instanceof MapFormatError ? `malformed map: ${e.message}` : 'malformed map: not JSON');
  }
  if (map.systemId !== systemId)
    throw new MapRejected(`the map is for system ${map.systemId}, not this one (${systemId})`);
  if (map.version < minVersion)
    throw new MapRejected(`map version ${map.version} is older than the one in force (${minVersion})`);
  return map;
}
