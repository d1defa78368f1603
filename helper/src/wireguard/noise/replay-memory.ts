// ReplayMemory: the newest initiation timestamp of each peer removed, for when it is added again.
// The responder refuses an initiation whose TAI64N is not after the newest it accepted from that
// key (whitepaper §5.1, §5.4.2): that is what stops a captured initiation from being replayed.
// A peer removed and added again would start from zero and accept any initiation it was ever
// sent, once, and an accepted initiation moves the peer's endpoint (§2.1). In a coordinated
// mesh peers come and go with every policy change (a user disabled and enabled, a sign-in that
// lapsed and was renewed), so a removed peer's timestamp is kept, bounded, and given back.
import { BoundedMap } from './bounded-map.js';
import { TAI64N_SIZE } from './constants.js';

/** REPLAY_MEMORY_MAX bounds the keys remembered (each a 64-character hex key and 12 bytes): a
 * peer forgotten past it is back to wireguard-go's behaviour for a removed peer. */
export const REPLAY_MEMORY_MAX = 4096;

/** ReplayMemory keeps the newest accepted timestamps of removed peers by key (hex), oldest
 * removal forgotten first; take hands one back. */
export class ReplayMemory extends BoundedMap<Buffer> {
  constructor(max = REPLAY_MEMORY_MAX) {
    super(max);
  }

  /** keep remembers the timestamp (copied) of a peer being removed; an all-zero one (the peer
   * never initiated to us) is not worth a slot. */
  keep(keyHex: string, timestamp: Buffer): void {
    if (timestamp.length !== TAI64N_SIZE || timestamp.every((b) => b === 0)) return;
    this.set(keyHex, Buffer.from(timestamp));
  }
}
