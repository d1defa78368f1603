// Helpers for the native addon's tests: copying packets out of batches (which are reused once
// onBatch returns), waiting for a condition with a deadline, and the threads' scheduling
// policies as the kernel reports them.
import { readdirSync, readFileSync } from 'node:fs';
import type { Batch, ReaderMode } from './types.js';
import { parseIp } from '../ip/addr.js';
import { formatWords, writeWordsAddress } from '../ip/words.js';
import { JS_SLICE_NS, threadSlice } from './slice.js';

/** MODES are the reader modes that reader tests run under. */
export const MODES: readonly ReaderMode[] = ['thread', 'poll'];

/** Received is one packet copied out of a batch, with where it came from. */
export interface Received {
  data: Buffer;
  /** addr is the source as text: a.b.c.d for IPv4 (mapped in the batch), RFC 5952 for IPv6. */
  addr: string;
  /** words are the source's four words as the batch carried them. */
  words: number[];
  port: number;
  offset: number;
  /** local is the local address it arrived on, as text like addr ("::" when unknown). */
  local: string;
  ifindex: number;
}

/** copyBatch copies every packet of `b` out of the pool entry. */
export function copyBatch(b: Batch): Received[] {
  const out: Received[] = [];
  for (let i = 0; i < b.count; i++) {
    const offset = b.offsets[i]!;
    out.push({
      data: Buffer.from(b.buf.subarray(offset, offset + b.lengths[i]!)),
      addr: formatWords(b.addrWords, 4 * i),
      words: Array.from(b.addrWords.subarray(4 * i, 4 * i + 4)),
      port: b.ports[i]!,
      offset,
      local: formatWords(b.localWords, 4 * i),
      ifindex: b.ifindex[i]!,
    });
  }
  return out;
}

/** wordsOf returns `n` copies of the address `ip` (IPv4 mapped) as a batch's address words. */
export function wordsOf(ip: string, n = 1): Uint32Array {
  const a = parseIp(ip);
  if (a === null) throw new Error(`wordsOf: ${ip} is not an address`);
  const w = new Uint32Array(4 * n);
  for (let i = 0; i < n; i++) writeWordsAddress(w, 4 * i, a);
  return w;
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

/** LOOPBACK is 127.0.0.1 as address words (::ffff:127.0.0.1). */
export const LOOPBACK = wordsOf('127.0.0.1');

/** SCHED_OTHER and SCHED_IDLE are the policy numbers of sched(7) as /proc reports them. */
export const SCHED_OTHER = 0;
export const SCHED_IDLE = 5;

/** threadPolicies maps each thread id of this process to its scheduling policy, read from
 * /proc/self/task/TID/stat (field 41 "policy", proc(5)), not from the addon. */
export function threadPolicies(): Map<number, number> {
  const m = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    let stat: string;
    try {
      stat = readFileSync(`/proc/self/task/${t}/stat`, 'utf8');
    } catch {
      continue; // the thread ended meanwhile
    }
    // Fields after the command name, which is in parentheses and may hold spaces: state is
    // field 3, so policy (41) is index 38.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    m.set(Number(t), Number(fields[38]));
  }
  return m;
}

/** threadSliceNs is a thread's EEVDF slice in ns as the kernel reports it (`se.slice` in
 * /proc/PID/task/TID/sched; the calling thread by default), null where the kernel shows none. */
export function threadSliceNs(path = '/proc/thread-self/sched'): number | null {
  const m = /^se\.slice\s*:\s*(\d+)/m.exec(readFileSync(path, 'utf8'));
  return m ? Number(m[1]) : null;
}

/** customSlices says whether this kernel grants a fair thread its own slice (Linux 6.12 and
 * later): it asks for JS_SLICE_NS on the calling thread and gives the default back. */
export function customSlices(): boolean {
  const granted = threadSlice(JS_SLICE_NS);
  threadSlice(0);
  return granted === JS_SLICE_NS;
}
