// Anti-replay window for transport counters (WireGuard whitepaper §5.4.6, "the receiver keeps
// track of which counters it has seen"), built like the Linux kernel's and wireguard-go's:
// RFC 6479's ring of bitmap blocks, so moving the window forward clears whole blocks instead of
// shifting bits. 256 blocks of 32 bits make 8192 bits; one block is always being recycled, so
// counters up to WINDOW_SIZE = 8160 behind the highest seen are still accepted once.
import { REJECT_AFTER_MESSAGES } from './constants.js';

const BLOCK_BITS_LOG = 5;
const BLOCK_BITS = 1 << BLOCK_BITS_LOG;
const RING_BLOCKS = 256;
const BLOCK_MASK = RING_BLOCKS - 1;
const BIT_MASK = BLOCK_BITS - 1;

/** WINDOW_SIZE: how far behind the newest counter an unseen counter is still accepted. */
export const WINDOW_SIZE = (RING_BLOCKS - 1) * BLOCK_BITS;

/** ReplayWindow remembers which recent counters of one keypair were received. Counters are
 * numbers below REJECT_AFTER_MESSAGES (2^53 - 1), so `/ BLOCK_BITS` arithmetic stays exact. */
export class ReplayWindow {
  private readonly ring = new Uint32Array(RING_BLOCKS);
  private last = 0;

  /** check says whether `counter` may be new: in range, not behind the window, not yet seen.
   * It changes nothing, so it can run before the (expensive) decryption. */
  check(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0 || counter >= REJECT_AFTER_MESSAGES) return false;
    if (counter > this.last) return true;
    if (this.last - counter > WINDOW_SIZE) return false;
    const block = Math.floor(counter / BLOCK_BITS) & BLOCK_MASK;
    return ((this.ring[block]! >>> (counter & BIT_MASK)) & 1) === 0;
  }

  /** update marks `counter` as seen after the message authenticated; false if it was a replay
   * or too old (then the message must be dropped). */
  update(counter: number): boolean {
    if (!Number.isSafeInteger(counter) || counter < 0 || counter >= REJECT_AFTER_MESSAGES) return false;
    const indexBlock = Math.floor(counter / BLOCK_BITS);
    if (counter > this.last) {
      const current = Math.floor(this.last / BLOCK_BITS);
      const diff = Math.min(indexBlock - current, RING_BLOCKS);
      for (let i = current + 1; i <= current + diff; i++) this.ring[i & BLOCK_MASK] = 0;
      this.last = counter;
    } else if (this.last - counter > WINDOW_SIZE) {
      return false;
    }
    const block = indexBlock & BLOCK_MASK;
    const bit = (1 << (counter & BIT_MASK)) >>> 0;
    const old = this.ring[block]!;
    if ((old & bit) !== 0) return false;
    this.ring[block] = (old | bit) >>> 0;
    return true;
  }

  /** reset forgets everything, for a new keypair. */
  reset(): void {
    this.ring.fill(0);
    this.last = 0;
  }
}
