// Token buckets for relay registrations. Each registration costs one or two Ed25519
// verifications (about 0.1 ms each, plus 0.09 ms to import a raw key), so without a limit a
// sender could keep a core busy with well-formed but unsigned registrations. One bucket per
// source IP stops a single host; one shared bucket caps the total so that a crowd of hosts
// still leaves the forwarding path most of the CPU.

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
