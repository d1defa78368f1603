// Batch-signed map deltas (src-shared/wire/map-delta.ts MAP_DELTA_BATCH_SIGNATURE_CONTEXT): the
// deltas of one pass, for the streams that take batches, are collected and signed together
// when the pass ends: one Ed25519 signature over a Merkle root (src-shared/lib/merkle.ts), and
// each delta carries its path. A policy change that alters every system's map then costs one
// signature and about two hashes per delta, not a signature per system (at 10,000 systems,
// most of a pass's time went to signatures).
import { merkleLeaf, merkleTree } from '../../../src-shared/lib/merkle.js';
import { MAP_DELTA_BATCH_SIGNATURE_CONTEXT, MAP_DELTA_SIGNATURE_CONTEXT } from '../../../src-shared/wire/map-delta.js';
import type { SigningKey } from '../auth/signing.js';

const DELTA_HEAD = 'event: delta\ndata: {"type":"delta","delta":';
const CONTEXT_BYTES = Buffer.byteLength(MAP_DELTA_SIGNATURE_CONTEXT, 'utf8');
const BATCH_CONTEXT = Buffer.from(MAP_DELTA_BATCH_SIGNATURE_CONTEXT, 'utf8');

interface Item {
  /** bytes are the signed message: the delta context and the delta's JSON. */
  bytes: Buffer;
  done: (frame: Buffer) => void;
}

/** DeltaBatch collects delta texts and, sealed, hands each its signed SSE frame. */
export class DeltaBatch {
  private items: Item[] = [];

  constructor(private readonly key: SigningKey) {}

  get size(): number {
    return this.items.length;
  }

  /** add queues a delta's JSON; done gets its frame when the batch is sealed. */
  add(text: string, done: (frame: Buffer) => void): void {
    this.items.push({ bytes: Buffer.from(MAP_DELTA_SIGNATURE_CONTEXT + text, 'utf8'), done });
  }

  /** seal signs what was added since the last seal and hands out the frames, in order. */
  seal(): void {
    if (this.items.length === 0) return;
    const items = this.items;
    this.items = [];
    const { root, paths } = merkleTree(items.map((it) => merkleLeaf(it.bytes)));
    const count = Buffer.alloc(4);
    count.writeUInt32BE(items.length);
    const signature = this.key.sign(Buffer.concat([BATCH_CONTEXT, count, root])).toString('base64');
    items.forEach((it, i) => {
      const payload = it.bytes.toString('base64', CONTEXT_BYTES);
      const path = paths[i]!.map((h) => `"${h.toString('base64')}"`).join(',');
      const batch = `{"count":${items.length},"index":${i},"path":[${path}]}`;
      it.done(
        Buffer.from(`${DELTA_HEAD}{"payload":"${payload}","signature":"${signature}","batch":${batch}}}\n\n`, 'latin1'),
      );
    });
  }
}
