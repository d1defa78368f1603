// Batch-signed map deltas (src-shared/wire/map-delta.ts MAP_DELTA_BATCH_SIGNATURE_CONTEXT): the
// deltas of one pass, for the streams that take batches, are collected and signed together
// when the pass ends: one Ed25519 signature over a Merkle root (src-shared/lib/merkle.ts), and
// each delta carries its path. A policy change that alters every system's map then costs one
// signature and about two hashes per delta, not a signature per system (at 10,000 systems,
// most of a pass's time went to signatures). A pass's deltas are signed in slices of
// BATCH_SLICE: each slice is signed and handed to its streams as soon as it is full, so the
// first watchers get theirs while the pass goes on, and the coordinator holds at most one
// slice of signed messages and their Merkle tree, not a whole pass's (30 MB at 10,000 systems).
//
// A policy change frames one delta per system, so each delta's bytes are copied as few times
// as Node allows: its JSON is encoded once (the payload bytes, hashed into its leaf after the
// signing context without joining the two), and its frame is one buffer the size of the whole
// event, into which the base64 of the payload (a string: Node has no base64 encoder that
// writes into a buffer) and the rest are written.
import {
  MERKLE_LEAF_PREFIX,
  merkleLeafOfInput,
  merkleLevels,
  merklePathSteps,
} from '../../../src-shared/lib/merkle.js';
import { MAP_DELTA_BATCH_SIGNATURE_CONTEXT, MAP_DELTA_SIGNATURE_CONTEXT } from '../../../src-shared/wire/map-delta.js';
import type { SigningKey } from '../auth/signing.js';

const FRAME_HEAD = 'event: delta\ndata: {"type":"delta","delta":{"payload":"';
const BATCH_CONTEXT = Buffer.from(MAP_DELTA_BATCH_SIGNATURE_CONTEXT, 'utf8');
/** LEAD is what a leaf's hash input holds before the delta's JSON: the leaf prefix and the
 * delta signing context (the signed message is the context and the JSON). */
const LEAD = Buffer.concat([Buffer.from([MERKLE_LEAF_PREFIX]), Buffer.from(MAP_DELTA_SIGNATURE_CONTEXT, 'utf8')]);

interface Item {
  /** input is the leaf's hash input, LEAD then the delta's JSON as UTF-8 (the payload). */
  input: Buffer;
  done: (frame: Buffer) => void;
}

/** BATCH_SLICE is how many deltas one signature covers at most: a Merkle path of 10 levels
 * (about 470 bytes a delta), one Ed25519 signature per 1,024 deltas. */
export const BATCH_SLICE = 1024;

/** DeltaBatch collects delta texts and, sealed (or full), hands each its signed SSE frame. */
export class DeltaBatch {
  private items: Item[] = [];

  constructor(
    private readonly key: SigningKey,
    private readonly slice = BATCH_SLICE,
  ) {}

  get size(): number {
    return this.items.length;
  }

  /** add queues a delta's JSON; done gets its frame when the batch is sealed, or at once when
   * this delta fills the slice. */
  add(text: string, done: (frame: Buffer) => void): void {
    // The JSON is encoded once, straight after the lead: the leaf is one one-shot hash of the
    // buffer and the payload a view of it.
    const input = Buffer.allocUnsafe(LEAD.length + Buffer.byteLength(text, 'utf8'));
    LEAD.copy(input, 0);
    input.write(text, LEAD.length, 'utf8');
    this.items.push({ input, done });
    if (this.items.length >= this.slice) this.seal();
  }

  /** seal signs what was added since the last seal and hands out the frames, in order. */
  seal(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    const levels = merkleLevels(items.map((it) => merkleLeafOfInput(it.input)));
    const root = levels[levels.length - 1]![0]!;
    const count = Buffer.alloc(4);
    count.writeUInt32BE(items.length);
    const signature = this.key.sign(Buffer.concat([BATCH_CONTEXT, count, root])).toString('base64');
    const mid = `","signature":"${signature}","batch":{"count":${items.length},"index":`;
    const paths = new PathTexts(levels);
    items.forEach((it, i) => {
      const tail = `${mid}${i},"path":[${paths.of(i)}]}}}\n\n`;
      it.done(frameOf(it.input.subarray(LEAD.length), tail));
    });
  }
}

/** PathTexts renders leaves' Merkle paths as JSON array items (`"b64","b64",...`). An inner
 * node is on the path of every leaf below its sibling: its base64 is made once per slice. */
class PathTexts {
  private readonly b64: (string | undefined)[][];

  constructor(private readonly levels: readonly Buffer[][]) {
    this.b64 = levels.map(() => []);
  }

  of(index: number): string {
    let out = '';
    merklePathSteps(this.levels, index, (l, at) => {
      const t = (this.b64[l]![at] ??= `"${this.levels[l]![at]!.toString('base64')}"`);
      out = out === '' ? t : `${out},${t}`;
    });
    return out;
  }
}

/** frameOf renders a delta's SSE event in one buffer: the head, the payload's base64, tail. */
function frameOf(payload: Buffer, tail: string): Buffer {
  const b64 = payload.toString('base64');
  const frame = Buffer.allocUnsafe(FRAME_HEAD.length + b64.length + tail.length);
  let at = frame.write(FRAME_HEAD, 0, 'latin1');
  at += frame.write(b64, at, 'latin1');
  frame.write(tail, at, 'latin1');
  return frame;
}
