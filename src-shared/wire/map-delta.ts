// Map deltas (docs/coordinator.md, "Map deltas"): a change reaches a helper as the difference
// between the map it holds and the new one, signed by the coordinator's key like a full map.
// A helper that announces support on its watch (`deltas=1`, WATCH_DELTA_PARAM) may get a `delta`
// event instead of a `map` event; one that does not announce gets full maps only, so this is
// an addition to protocol 2, not a change of it (control.ts CONTROL_PROTOCOL).
import type { MapPeer, SignedMap } from './control.js';

/** WATCH_DELTA_PARAM is the watch query parameter (`?since=V&deltas=1`) by which a helper says
 * it applies deltas. A coordinator that does not know it ignores it and sends full maps. */
export const WATCH_DELTA_PARAM = 'deltas';

/** MAP_DELTA_SIGNATURE_CONTEXT prefixes the bytes a delta signature covers:
 *   Ed25519(coordinatorKey, UTF-8("warren-map-delta-v1\n") || payloadBytes)
 * A context of its own, so a signed delta can never pass for a signed map or the reverse. */
export const MAP_DELTA_SIGNATURE_CONTEXT = 'warren-map-delta-v1\n';

/** WATCH_BATCH_PARAM (`&batch=1`, with deltas) says the helper also takes deltas signed as a
 * batch (SignedMapDelta.batch). A coordinator that does not know it signs each delta alone. */
export const WATCH_BATCH_PARAM = 'batch';

/** MAP_DELTA_BATCH_SIGNATURE_CONTEXT prefixes what a batch signature covers:
 *   Ed25519(coordinatorKey, UTF-8("warren-map-delta-batch-v1\n") || u32be(count) || root)
 * where root is the Merkle root (src-shared/lib/merkle.ts: SHA-256, leaves 0x00 || message,
 * nodes 0x01 || left || right, an odd last node carried up) over the count messages
 * UTF-8(MAP_DELTA_SIGNATURE_CONTEXT) || payloadBytes of one coordinator pass's deltas. So a
 * pass signs once, not once per system, and each delta still proves on its own that the
 * coordinator made it: a batch delta is exactly as binding as a delta signed alone. */
export const MAP_DELTA_BATCH_SIGNATURE_CONTEXT = 'warren-map-delta-batch-v1\n';

/** MAX_BATCH_PATH bounds a batch proof's path (a pass of up to 2^24 deltas). */
export const MAX_BATCH_PATH = 24;

/** DeltaBatchProof places a delta in its pass's batch: its index among count, and the sibling
 * hashes (base64, 32 bytes each) from its leaf up to the signed root. */
export interface DeltaBatchProof {
  count: number;
  index: number;
  path: string[];
}

/** DELTA_PARTS are the top-level map fields a delta may replace whole (MapDelta.set). Anything
 * else that changes (the network, the zone, discovery, relays) makes the coordinator send a
 * full map instead: they change with the coordinator's configuration, not with a policy. */
export const DELTA_PARTS = ['self', 'policies', 'routes', 'routeGrants'] as const;
export type DeltaPart = (typeof DELTA_PARTS)[number];

/** MapDelta turns the map of version baseVersion into the map of version `version`.
 *
 * Applying it: take the held map of baseVersion (as decoded JSON, field order kept), drop the
 * peers whose identity is in `removed`, put each of `peers` in place of the held peer with its
 * identity (or add it), sort peers by identity, replace each field of `set`, and set version and
 * generatedAt. Its canonical text (MAP_CANONICAL below) must then hash to `digest`; a helper
 * whose result does not, or whose map is not of baseVersion, fetches the full map
 * (GET CONTROL_PATHS.map) instead of using it. */
export interface MapDelta {
  protocol: number;
  systemId: string;
  baseVersion: number;
  version: number;
  generatedAt: number;
  /** digest is hex SHA-256 of the new map's canonical text after its first three fields: the
   * bytes following `{"protocol":P,"version":V,"generatedAt":G,`. */
  digest: string;
  /** peers are the added and changed peers, whole. */
  peers: MapPeer[];
  /** removed are the identities of peers no longer in the map. */
  removed: string[];
  set: Partial<Record<DeltaPart, unknown>>;
}

/** MAP_CANONICAL describes a map's canonical text, which the coordinator sends as a full map's
 * payload and a helper rebuilds after a delta: JSON without spaces, top-level fields in the
 * order of the full map the delta chain started from, objects inside peers, self and policies
 * in the order they came in, and the keys of `routes` and `routeGrants` (identities) in
 * ascending UTF-16 order (JavaScript's default sort), whatever order a JSON parser keeps. */
export const MAP_CANONICAL = 'json-compact; routes and routeGrants keys sorted';

/** SignedMapDelta travels like a SignedMap: payload is base64 of the MapDelta's JSON bytes; with
 * batch, signature is the batch signature (MAP_DELTA_BATCH_SIGNATURE_CONTEXT), else the
 * delta's own (MAP_DELTA_SIGNATURE_CONTEXT). Only a watch that asked for batches gets them. */
export type SignedMapDelta = SignedMap & { batch?: DeltaBatchProof };
