// DropCounters: how many packets the data plane dropped, by reason. Reasons are stable strings
// (they appear in `warren status --json` and tests assert on them).

/** DeviceDropReason lists the drops decided by the device layer (the protocol core adds its own). */
export type DeviceDropReason =
  | 'tun-bad-version' // from the adapter, neither IPv4 nor IPv6
  | 'tun-bad-length' // from the adapter, a header cut short or a length longer than the packet
  | 'tun-packet-too-big' // would not fit one UDP datagram once sealed (jumbo MTUs)
  | 'tun-no-peer'
  | 'tun-peer-no-endpoint'
  | 'tun-queue-full'
  | 'udp-bad-length'
  | 'udp-bad-type'
  | 'unknown-index'
  | 'expired-keypair'
  | 'replayed-counter'
  | 'decrypt-failed'
  | 'inner-bad-version' // decrypted, neither IPv4 nor IPv6
  | 'inner-bad-length' // decrypted, a header cut short or a length longer than the plaintext
  | 'source-not-allowed'
  | 'tun-write-failed'
  | 'udp-send-failed'
  | 'handshake-failed'
  | 'handshake-queue-full'
  | 'disconnected';

/** DropCounters counts drops by reason with no allocation per count once a reason is seen. */
export class DropCounters {
  private readonly counts = new Map<string, number>();

  /** onDrop, when set, hears of every drop (the device logs them at -v 3, rate limited). */
  onDrop: ((reason: string, n: number) => void) | null = null;

  add(reason: string, n = 1): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + n);
    this.onDrop?.(reason, n);
  }

  get(reason: string): number {
    return this.counts.get(reason) ?? 0;
  }

  snapshot(): Record<string, number> {
    return Object.fromEntries([...this.counts.entries()].sort(([a], [b]) => a.localeCompare(b)));
  }
}
