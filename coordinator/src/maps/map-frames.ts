// Signed map frames: a full map as the SSE `map` event and the SignedMap JSON inside it, and
// what the publisher hands a watch stream for a new map (Outgoing).
import { MAP_SIGNATURE_CONTEXT, type SignedMap } from '../../../src-shared/wire/control.js';
import type { SigningKey } from '../auth/signing.js';

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
