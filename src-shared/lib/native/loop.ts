// What the packet path's warm-up (helper/src/daemon/warm-up.ts) needs to run the real adapter
// and reader code in memory: descriptors that carry packets as a TUN does, and buffers made as
// the native readers make their batches' (native/src/reader.c).
import { loadAddon } from './load.js';
import type { Reader } from './types.js';

/** MAX_READER_BUFFER is the largest buffer readerBuffer makes (a reader's whole pool's bound). */
export const MAX_READER_BUFFER = 256 * 1024 * 1024;

/** readerBuffer returns a zeroed Buffer of bytes (1 to MAX_READER_BUFFER) made in native code.
 * Node gives a Buffer made in C another hidden class than one made in JS, and V8's optimized
 * code checks the class: a batch built on Buffer.alloc trains the packet path on the wrong one,
 * and the first real batch then throws the optimized code away ("wrong map"). */
export function readerBuffer(bytes: number): Buffer {
  return loadAddon().readerBuffer(bytes);
}

/** packetPair returns two connected, non-blocking Unix SOCK_SEQPACKET descriptors: one packet
 * per read and per write, as on a TUN descriptor (close both with closeFd). */
export function packetPair(): [number, number] {
  return loadAddon().packetPair();
}

/** inertReader is the Reader of something read in memory (the warm-up's sockets, the tests'
 * fakes): stop runs stopFn, and there is nothing to count. */
export function inertReader(stopFn: () => void): Reader {
  return { stop: stopFn, stats: () => ({ batches: 0, packets: 0, truncated: 0, errors: 0 }), gro: () => false };
}
