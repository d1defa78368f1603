// The TUN adapter: one interface per OS behind a factory (DESIGN.md convention 2). Linux is
// implemented; other platforms fail with a clear message; tun-fake.ts serves unit tests.
import type { Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';
import type { TunOffloads } from '../../../src-shared/lib/native/offload.js';
import { linuxTunDriver } from './tun-linux.js';
import type { IpAddress, IpPrefix } from '../../../src-shared/lib/ip/addr.js';

/** TunConfig is what the helper sets on the adapter when it starts. */
export interface TunConfig {
  name: string;
  address: number; // virtual address, host-order IPv4
  network: { addr: number; bits: number }; // the overlay, routed through the adapter
  mtu: number;
  /** address6 and network6 are this system's IPv6 address and the IPv6 overlay routed through
   * the adapter (the network's ULA /48); absent or null: the adapter stays IPv4 only. */
  address6?: IpAddress | null;
  network6?: IpPrefix | null;
}

/** RouteConflict is an overlay route the adapter could not add because another program's route
 * already has the prefix; device names that route's device (null when it has none). */
export interface RouteConflict {
  prefix: string;
  device: string | null;
}

/** TunAdapter is an open, configured adapter. close() removes everything start added. */
export interface TunAdapter {
  readonly name: string;
  readonly mtu: number;
  /** ipv6 says the adapter carries the IPv6 address and route (false when none was asked for,
   * or the host has IPv6 turned off); adapters that take no addresses (warren-wg's) leave it out. */
  readonly ipv6?: boolean;
  /** routeConflicts are the overlay routes held by another program (the adapter runs without
   * them; status reports each as a problem); absent or empty when every route was added. */
  readonly routeConflicts?: readonly RouteConflict[];
  /** startReader delivers batches of outbound IP packets (see Batch for the layout). */
  startReader(onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader;
  /** offloads says which TUN offloads the adapter uses (absent: none, e.g. fakes). */
  offloads?(): TunOffloads;
  /** writeBatch hands packets to the OS; returns how many it accepted. */
  writeBatch(buf: Buffer, offsets: Uint32Array, lengths: Uint32Array, count: number): number;
  close(): void;
}

/** TunDriver is the OS side of adapters: open one, and find or remove one that a helper which
 * did not stop cleanly left behind (daemon/state-file.ts). */
export interface TunDriver {
  /** open creates and configures the adapter; on any failure nothing is left behind. */
  open(cfg: TunConfig): Promise<TunAdapter>;
  /** exists says whether a network interface of that name exists. */
  exists(name: string): boolean;
  /** remove deletes a network interface; false if it could not (or it was already gone). */
  remove(name: string): boolean;
}

/** systemTun is this machine's driver, chosen by process.platform. */
export const systemTun: TunDriver = process.platform === 'linux' ? linuxTunDriver : unsupportedTun(process.platform);

function unsupportedTun(platform: string): TunDriver {
  return {
    open: () =>
      Promise.reject(new Error(`the Warren adapter is not supported on ${platform} yet (Linux only for now)`)),
    exists: () => false,
    remove: () => false,
  };
}
