// The TUN adapter: one interface per OS behind a factory (DESIGN.md convention 2). Linux is
// implemented; other platforms fail with a clear message; tun-fake.ts serves unit tests.
import type { Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';

/** TunConfig is what the helper sets on the adapter when it starts. */
export interface TunConfig {
  name: string;
  address: number; // virtual address, host-order IPv4
  network: { addr: number; bits: number }; // the overlay, routed through the adapter
  mtu: number;
}

/** TunAdapter is an open, configured adapter. close() removes everything start added. */
export interface TunAdapter {
  readonly name: string;
  readonly mtu: number;
  /** startReader delivers batches of outbound IP packets (see Batch for the layout). */
  startReader(onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader;
  /** writeBatch hands packets to the OS; returns how many it accepted. */
  writeBatch(buf: Buffer, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  close(): void;
}

/** openTun opens and configures the adapter for this OS. */
export async function openTun(cfg: TunConfig): Promise<TunAdapter> {
  switch (process.platform) {
    case 'linux': {
      const { openLinuxTun } = await import('./tun-linux.js');
      return openLinuxTun(cfg);
    }
    default:
      throw new Error(`the Warren adapter is not supported on ${process.platform} yet (Linux only for now)`);
  }
}
