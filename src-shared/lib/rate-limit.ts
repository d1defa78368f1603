// Token buckets in front of signature work (relay registrations, endpoint discovery). Each
// such request costs one or two Ed25519 verifications (about 0.1 ms each, plus 0.09 ms to import
// a raw key), so without a limit a sender could keep a core busy with well-formed but unsigned
// requests. One bucket per source address stops a single host, one per source prefix
// (IPv4 /24, IPv6 /64: what one network, or one attacker, typically holds) stops a host that
// spreads its requests over its neighbours' addresses, and a shared bucket caps the total.
import { parseIp, unmapIPv4 } from './ip/addr.js';

interface Bucket {
  tokens: number;
  last: number;
}

/** RateLimiter keeps one token bucket per key in a bounded table. */
export class RateLimiter {
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly maxKeys: number,
  ) {}

  get size(): number {
    return this.buckets.size;
  }

  /** allow takes one token from key's bucket, or says no when it is empty. */
  allow(key: string, now: number): boolean {
    let b = this.buckets.get(key);
    if (b === undefined) {
      if (this.buckets.size >= this.maxKeys) {
        // Full (the periodic sweep has not caught up): forget the oldest key rather than scan
        // the table per packet. That hands it a fresh burst if it comes back, which the shared
        // bucket in front of verification still bounds.
        const oldest = this.buckets.keys().next().value;
        if (oldest !== undefined) this.buckets.delete(oldest);
      }
      b = { tokens: this.burst, last: now };
      this.buckets.set(key, b);
    } else {
      // Math.max: a wall clock that steps back must not drain the bucket.
      const elapsed = Math.max(0, now - b.last);
      b.tokens = Math.min(this.burst, b.tokens + (elapsed * this.perSecond) / 1000);
      b.last = now;
    }
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** sweep forgets buckets that have refilled: they are the same as no bucket. */
  sweep(now: number): void {
    const refillMs = (this.burst * 1000) / this.perSecond;
    for (const [key, b] of this.buckets) {
      if (now - b.last >= refillMs) this.buckets.delete(key);
    }
  }

  clear(): void {
    this.buckets.clear();
  }
}

/** sourcePrefix names the network an address sends from: its /24 for IPv4 (an IPv4-mapped IPv6
 * address counts as IPv4), its /64 for IPv6 (the smallest prefix a site is given, RFC 6177),
 * and the text itself for anything that does not parse. */
export function sourcePrefix(ip: string): string {
  const a = parseIp(ip);
  if (a === null) return ip;
  const u = unmapIPv4(a);
  if (u.family === 4) return `${u.v4 >>> 8}/24`;
  return `${u.w0.toString(16)}:${u.w1.toString(16)}::/64`;
}

/** SourceRate is one bucket's refill rate and size. */
export interface SourceRate {
  perSecond: number;
  burst: number;
}

/** SourceLimiter limits requests per source address and per source prefix (sourcePrefix);
 * each table holds at most maxSources keys. */
export class SourceLimiter {
  private readonly address: RateLimiter;
  private readonly prefix: RateLimiter;

  constructor(o: { address: SourceRate; prefix: SourceRate; maxSources: number }) {
    this.address = new RateLimiter(o.address.perSecond, o.address.burst, o.maxSources);
    this.prefix = new RateLimiter(o.prefix.perSecond, o.prefix.burst, o.maxSources);
  }

  /** allow takes a token from ip's bucket and from its prefix's, or says no. */
  allow(ip: string, now: number): boolean {
    return this.address.allow(ip, now) && this.prefix.allow(sourcePrefix(ip), now);
  }

  get size(): number {
    return this.address.size + this.prefix.size;
  }

  sweep(now: number): void {
    this.address.sweep(now);
    this.prefix.sweep(now);
  }

  clear(): void {
    this.address.clear();
    this.prefix.clear();
  }
}
