// The device's configuration and the firewall hook it calls, apart from device.ts so that the
// data plane's code stays readable in one file.
import type { PeerConfig } from '../../config/schema.js';
import type { Logger } from '../../../../src-shared/lib/log.js';
import type { IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import type { IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import type { TunAdapter } from '../../tun/index.js';
import type { Bind } from './bind.js';

/**
 * PacketFilter is the stateful firewall as the data plane sees it: a verdict per packet, 0 to
 * pass or a code whose name is reasons[code]. It is called after cryptokey routing picked the
 * peer (egress) or authenticated it (ingress), so it always knows which peer a packet is for.
 */
export interface PacketFilter {
  egress(peerIndex: number, buf: Buffer, off: number, len: number, now: number): number;
  ingress(peerIndex: number, buf: Buffer, off: number, len: number, now: number): number;
  readonly reasons: readonly string[];
}

/** DevicePeerConfig is what the device needs of a configured peer (config/schema.ts PeerConfig),
 * with the allowed IPs of either family (daemon/apply.ts devicePeerConfig converts). */
export type DevicePeerConfig = Pick<PeerConfig, 'publicKey' | 'persistentKeepalive'> & {
  allowedIps: IpPrefix[];
  presharedKey?: Buffer;
  endpoint?: IpEndpoint;
  name?: string | null;
};

/** DeviceOptions wires a device to its adapter and socket. */
export interface DeviceOptions {
  /** privateKey is the static key; null starts a device without one (see NoiseCore). */
  privateKey: Buffer | null;
  tun: TunAdapter;
  bind: Bind;
  /** mtu is the adapter's MTU, which bounds padding (§5.4.6); see Device.mtu. */
  mtu: number;
  /** maxPacket sizes the UDP reader and the staging scratch for the largest packet the adapter
   * may ever carry, when its MTU can grow after start (warren-wg: wg-quick sets it later). */
  maxPacket?: number;
  /** onReaderError hears that a reader stopped for good (the adapter was deleted, say). */
  onReaderError?: (what: 'adapter' | 'UDP', e: Error) => void;
  log: Logger;
  /** clock is the protocol timers' clock in milliseconds (default CLOCK_BOOTTIME, see
   * boottimeMs: it counts suspend, so sessions age while the machine sleeps, §6). */
  clock?: () => number;
}
