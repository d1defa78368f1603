// One batch's ChaCha20-Poly1305 work (whitepaper §5.4.6), gathered packet by packet by the send
// and receive paths and done in one native call: the addon seals or opens every packet in place
// and, with the crypto threads on, shares the batch with them and returns when all are done,
// so the packets keep their order. A batch names each session's key once (keys, keyIndex).
import * as native from '../../../../src-shared/lib/native/index.js';
import { KEY_BYTES } from '../../../../src-shared/lib/native/index.js';
import { MAX_BATCH } from '../../../../src-shared/lib/native/batch.js';
import type { Keypair } from '../noise/index.js';

abstract class CryptBatch {
  count = 0;
  protected readonly keys = Buffer.alloc(MAX_BATCH * KEY_BYTES);
  protected readonly keyIndex = new Uint16Array(MAX_BATCH);
  /** counters[j] is packet j's counter, as added. */
  readonly counters = new Float64Array(MAX_BATCH);
  protected readonly offsets = new Uint32Array(MAX_BATCH);
  protected readonly lengths = new Uint32Array(MAX_BATCH);
  private nkeys = 0;
  private lastPair: Keypair | null = null;
  private lastIndex = 0;
  /** firstPair is key 0's session; indexOf holds the others', so that a batch of one session
   * (the common case) leaves the map empty: Map.clear allocates a new table even for an empty
   * map, and garbage on every batch brings scavenges (GC pauses) onto the packet path. */
  private firstPair: Keypair | null = null;
  private readonly indexOf = new Map<Keypair, number>();

  reset(): void {
    this.count = 0;
    this.nkeys = 0;
    this.lastPair = null;
    this.firstPair = null;
    if (this.indexOf.size > 0) this.indexOf.clear();
  }

  /** add queues `length` bytes at `offset` under kp's key with `counter`. */
  protected push(kp: Keypair, key: Buffer, counter: number, offset: number, length: number): void {
    const n = this.count++;
    this.keyIndex[n] = kp === this.lastPair ? this.lastIndex : this.keyFor(kp, key);
    this.counters[n] = counter;
    this.offsets[n] = offset;
    this.lengths[n] = length;
  }

  private keyFor(kp: Keypair, key: Buffer): number {
    let at = kp === this.firstPair ? 0 : this.nkeys > 1 ? this.indexOf.get(kp) : undefined;
    if (at === undefined) {
      at = this.nkeys++;
      key.copy(this.keys, at * KEY_BYTES);
      if (at === 0) this.firstPair = kp;
      else this.indexOf.set(kp, at);
    }
    this.lastPair = kp;
    this.lastIndex = at;
    return at;
  }
}

/** OpenBatch opens transport messages: add the ciphertext (tag included) of each, then run. */
export class OpenBatch extends CryptBatch {
  /** ok[j] is 1 if message j authenticated (after run). */
  readonly ok = new Uint8Array(MAX_BATCH);

  add(kp: Keypair, counter: number, offset: number, length: number): void {
    this.push(kp, kp.recvKey, counter, offset, length);
  }

  run(buf: Buffer): void {
    if (this.count > 0)
      native.aeadOpenBatch(
        this.keys,
        this.keyIndex,
        this.counters,
        buf,
        this.offsets,
        this.lengths,
        this.count,
        this.ok,
      );
  }
}

/** SealBatch seals outgoing messages: add each padded plaintext, then run before sending. */
export class SealBatch extends CryptBatch {
  add(kp: Keypair, counter: number, offset: number, length: number): void {
    this.push(kp, kp.sendKey, counter, offset, length);
  }

  /** run seals the `expected` packets added since the last run. A different count means the
   * send path queued datagrams this batch does not hold: it throws rather than let one leave
   * unsealed. The batch is empty afterwards even if sealing threw. */
  run(buf: Buffer, expected: number): void {
    const n = this.count;
    this.reset();
    if (n !== expected) throw new Error(`SealBatch: ${n} packets queued for sealing, ${expected} to send`);
    if (n > 0) native.aeadSealMany(this.keys, this.keyIndex, this.counters, buf, this.offsets, this.lengths, n);
  }
}
