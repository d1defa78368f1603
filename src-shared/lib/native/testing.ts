// Helpers for the native addon's tests: copying packets out of batches (which are reused once
// onBatch returns) and waiting for a condition with a deadline.
import type { Batch, ReaderMode } from './types.js';

/** MODES are the reader modes that reader tests run under. */
export const MODES: readonly ReaderMode[] = ['thread', 'poll'];

/** Received is one packet copied out of a batch, with where it came from. */
export interface Received {
  data: Buffer;
  addr: number;
  port: number;
  offset: number;
}

/** copyBatch copies every packet of `b` out of the pool entry. */
export function copyBatch(b: Batch): Received[] {
  const out: Received[] = [];
  for (let i = 0; i < b.count; i++) {
    const offset = b.offsets[i]!;
    out.push({
      data: Buffer.from(b.buf.subarray(offset, offset + b.lengths[i]!)),
      addr: b.addrs[i]!,
      port: b.ports[i]!,
      offset,
    });
  }
  return out;
}

/** waitFor resolves once `cond` holds, polling every few milliseconds; it rejects after `ms`. */
export async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** sleep waits `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** LOOPBACK is 127.0.0.1 as a host-order number. */
export const LOOPBACK = 0x7f000001;
