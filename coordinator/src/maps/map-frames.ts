// Signed map frames: a full map as the SSE `map` event and the SignedMap JSON inside it, and
// what the publisher keeps of a published map (PublishedMap) and hands a watch stream for a
// new map (Outgoing).
import type { Hash } from 'node:crypto';
import { MAP_SIGNATURE_CONTEXT, type SignedMap } from '../../../src-shared/wire/control.js';
import type { SigningKey } from '../auth/signing.js';
import { deltaFrame, deltaText, type DeltaInput, type MapBasis } from './delta.js';
import type { DeltaBatch } from './delta-batch.js';

/** PublishedMap is a system's current map, as a digest and a delta basis (delta.ts MapBasis). */
export interface PublishedMap extends MapBasis {
  /** version is the map version it carries; builtAt the registry version it was checked at. */
  version: number;
  builtAt: number;
  generatedAt: number;
  /** digest is the SHA-256 of the map's content (MapBuilder.content), in hex (as the delta
   * carries it; a string, not a Buffer: one per map and pass, each Buffer with a backing store
   * of its own for the collector to track): enough to tell whether a
   * new content differs without holding any map's text. */
  digest: string;
  /** bytes is the size of the full map's payload. */
  bytes: number;
  /** prefix is the SHA-256 state after the content's text up to its policies (digestOf), of
   * prefixBytes bytes; it is copied, never finished. */
  prefix: Hash;
  prefixBytes: number;
}

/** FullMap is a signed full map: frame is the SSE `map` event as bytes, signedJson the
 * SignedMap JSON inside it (a view, not a copy), which GET map sends as it is. */
export interface FullMap {
  version: number;
  frame: Buffer;
  signedJson: Buffer;
}

/** Outgoing is a new map as a watch stream may receive it: `full` renders the signed full map,
 * `delta` the signed delta against version `base` (null when a full map is due or there is no
 * previous map). Both are rendered only when called, so maps nobody watches cost no signature. */
export interface Outgoing {
  base: number | null;
  /** fullBytes is about the size of the full map's frame. */
  fullBytes: number;
  full(): Buffer;
  delta(): Buffer | null;
  /** batched queues the delta for the pass's batch signature (delta-batch.ts): done gets its
   * frame when the pass ends. False (and nothing queued) when a full map is due. */
  batched(done: (frame: Buffer) => void): boolean;
}

/** signedOf decodes a FullMap's SignedMap (for the enrolment answer and tests). */
export function signedOf(m: FullMap): SignedMap {
  return JSON.parse(m.signedJson.toString('latin1')) as SignedMap;
}

const CONTEXT_BYTES = Buffer.byteLength(MAP_SIGNATURE_CONTEXT, 'utf8');
const FRAME_HEAD = 'event: map\ndata: {"type":"map","map":';
const FRAME_TAIL = '}\n\n';

/** mapFrame renders the SSE event for a signed map. Base64 needs no JSON escaping and the
 * frame is ASCII, so latin1 turns it into bytes with a plain copy. */
export function mapFrame(payload: string, signature: string): Buffer {
  return Buffer.from(`${FRAME_HEAD}{"payload":"${payload}","signature":"${signature}"}${FRAME_TAIL}`, 'latin1');
}

/** renderFull signs a full map's payload and renders its frame. One buffer holds the signing
 * context and the payload: the signature covers both, the payload is the part after the context. */
export function renderFull(key: SigningKey, version: number, payload: string): FullMap {
  const bytes = Buffer.from(MAP_SIGNATURE_CONTEXT + payload, 'utf8');
  const frame = mapFrame(bytes.toString('base64', CONTEXT_BYTES), key.sign(bytes).toString('base64'));
  const signedJson = frame.subarray(FRAME_HEAD.length, frame.length - FRAME_TAIL.length);
  return { version, frame, signedJson };
}

/** outgoingOf is a new map's Outgoing: its delta against the map published before (none
 * without one, or when a full map is due: delta.ts deltaText), signed alone or queued for the
 * pass's batch, and the full map; bytes is the full map's payload size. */
export function outgoingOf(
  key: SigningKey,
  batch: DeltaBatch,
  before: MapBasis | undefined,
  next: DeltaInput,
  bytes: number,
  full: () => Buffer,
): Outgoing {
  const deltaOf = (): string | null => (before ? deltaText(before, next, bytes) : null);
  return {
    base: before?.version ?? null,
    fullBytes: Math.ceil(bytes / 3) * 4 + 200,
    full,
    delta: () => {
      const t = deltaOf();
      return t === null ? null : deltaFrame(key, t);
    },
    batched: (done) => {
      const t = deltaOf();
      if (t !== null) batch.add(t, done);
      return t !== null;
    },
  };
}
