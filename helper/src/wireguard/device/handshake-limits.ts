// HandshakeLimits: which handshake messages may cost a Diffie-Hellman and which get a cookie
// reply instead (WireGuard whitepaper §5.3, §5.4.7). The protocol core asks after mac1 passed
// and before any DH (NoiseCore's admit hook), so everything here is a table lookup.
//
// Every source has its own token buckets (wireguard-go's figures: 20 a second, 5 at once), kept
// apart by whether the message proves its address with a valid mac2. A source is an IPv4
// address or an IPv6 /64, since one host may use any address of its /64 (lib/ip/words.ts
// sourceRateKey; the kernel's WireGuard rate limiter does the same). A cookie only reaches the true owner of an address, so proven messages have a bucket a sender spoofing that
// address cannot drain; otherwise a few spoofed packets a second would lock a peer out.
//   - Proven: processed within its source's share, else dropped.
//   - Unproven, not under load: processed within its source's share. Past it the source must
//     prove its address like everyone under load (a cookie reply), instead of being dropped: a
//     spoofer draining a peer's share then costs that peer one round trip, not its handshake.
//   - Unproven under load, or past its share: a cookie reply, within the source's share of
//     cookie replies and the share of all sources (each costs an XChaCha20-Poly1305 seal, and
//     they go to an address nobody proved, so they must not become a stream at someone else).
// wireguard-go applies its per-address limit only under load and never limits cookie replies.
import { RateLimiter } from '../../../../src-shared/lib/rate-limit.js';
import type { DropReason } from '../noise/index.js';
import { parseIp } from '../../../../src-shared/lib/ip/addr.js';
import { sourceRateKey } from '../../../../src-shared/lib/ip/words.js';

/** HANDSHAKES_PER_SECOND_PER_SOURCE and its burst: what one address may make us compute. */
export const HANDSHAKES_PER_SECOND_PER_SOURCE = 20;
export const HANDSHAKE_BURST_PER_SOURCE = 5;
/** COOKIES_PER_SECOND_PER_SOURCE and its burst: the cookie replies one address may receive. A
 * cookie lasts two minutes (§5.4.7, COOKIE_REFRESH_TIME) and an initiator retries every five
 * seconds, so a genuine address needs far less; kept low, many addresses with a cookie already
 * cannot use up the total that an address without one needs. */
export const COOKIES_PER_SECOND_PER_SOURCE = 2;
export const COOKIE_BURST_PER_SOURCE = 5;
/** COOKIES_PER_SECOND: cookie replies to all addresses together. */
export const COOKIES_PER_SECOND = 1000;
/** MAX_SOURCES bounds each table; the oldest address is forgotten first (src-shared/lib/rate-limit). */
export const MAX_SOURCES = 4096;

/** HandshakeLimits holds the per-source and total buckets; see the file comment. */
export class HandshakeLimits {
  private readonly unproven = new RateLimiter(
    HANDSHAKES_PER_SECOND_PER_SOURCE,
    HANDSHAKE_BURST_PER_SOURCE,
    MAX_SOURCES,
  );
  private readonly proven = new RateLimiter(HANDSHAKES_PER_SECOND_PER_SOURCE, HANDSHAKE_BURST_PER_SOURCE, MAX_SOURCES);
  private readonly cookies = new RateLimiter(COOKIES_PER_SECOND_PER_SOURCE, COOKIE_BURST_PER_SOURCE, MAX_SOURCES);
  private readonly allCookies = new RateLimiter(COOKIES_PER_SECOND, COOKIES_PER_SECOND, 1);

  /** admit decides for a message with a valid mac1 from source (its sourceRateKey). */
  admit(source: string, proven: boolean, underLoad: boolean, now: number): 'process' | 'cookie' | DropReason {
    if (proven) return this.proven.allow(source, now) ? 'process' : 'handshake-rate-limited';
    if (!underLoad && this.unproven.allow(source, now)) return 'process';
    // The source's own share first, so a source past it does not use up the total.
    if (!this.cookies.allow(source, now) || !this.allCookies.allow('', now)) return 'cookie-rate-limited';
    return 'cookie';
  }

  /** sources is the number of addresses tracked, for tests and status. */
  get sources(): number {
    return Math.max(this.unproven.size, this.proven.size, this.cookies.size);
  }

  /** sweep forgets addresses whose buckets are full again (call about once a second). */
  sweep(now: number): void {
    this.unproven.sweep(now);
    this.proven.sweep(now);
    this.cookies.sweep(now);
  }
}

/** rateKeyOf is the key of a source the protocol core names by its text: an IPv4 address, or
 * an IPv6 /64 (words.ts sourceRateKey). */
export function rateKeyOf(ip: string): string {
  const a = parseIp(ip);
  return a === null ? ip : sourceRateKey(a);
}
