// A bounded replay cache for signed messages: (key, nonce) pairs are remembered for a fixed
// lifetime, at most `total` in all and `perKey` per signer within one lifetime. Entries go in
// with a constant lifetime, so insertion order is expiry order and a sweep reads from the front
// only: admitting costs O(1) amortised, whatever the table holds.

/** NonceLimits bound a NonceCache in total and per signer. */
export interface NonceLimits {
  total: number;
  perSystem: number;
}

/** NonceCache remembers (signer, nonce) pairs for lifetimeMs. */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  private readonly perSystem = new Map<string, number>();
  constructor(
    private readonly lifetimeMs: number,
    private readonly limits: NonceLimits,
  ) {}

  get size(): number {
    return this.seen.size;
  }

  /** admit records the pair, or says why it cannot. */
  admit(system: string, nonce: string, now: number): 'ok' | 'replay' | 'rate-limited' {
    this.sweep(now);
    const key = `${system} ${nonce}`;
    if (this.seen.has(key)) return 'replay';
    const count = this.perSystem.get(system) ?? 0;
    if (count >= this.limits.perSystem || this.seen.size >= this.limits.total) return 'rate-limited';
    this.seen.set(key, now + this.lifetimeMs);
    this.perSystem.set(system, count + 1);
    return 'ok';
  }

  private sweep(now: number): void {
    for (const [key, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(key);
      const system = key.slice(0, key.indexOf(' '));
      const n = (this.perSystem.get(system) ?? 1) - 1;
      if (n <= 0) this.perSystem.delete(system);
      else this.perSystem.set(system, n);
    }
  }
}
