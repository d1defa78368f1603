// Which segmentation offloads the WireGuard socket uses (udp(7) UDP_SEGMENT on send, UDP_GRO on
// receive) and the TUN device uses (IFF_VNET_HDR: TSO/USO super-packets read and split, TCP
// segments coalesced on write), and the environment switches that turn them off for benchmarks
// and diagnosis.
import { onOffSwitch } from './switch.js';

/** OFFLOAD_ENV turns every offload off ('off') or leaves them to the specific switches ('on'). */
export const OFFLOAD_ENV = 'WARREN_OFFLOAD';
/** UDP_GSO_ENV and UDP_GRO_ENV switch one offload ('on' or 'off'); they win over OFFLOAD_ENV. */
export const UDP_GSO_ENV = 'WARREN_UDP_GSO';
export const UDP_GRO_ENV = 'WARREN_UDP_GRO';
/** TUN_OFFLOAD_ENV switches the TUN offloads as a whole; TUN_GRO_ENV only the coalescing of
 * written TCP segments (it needs the TUN offloads on). Both win over OFFLOAD_ENV. */
export const TUN_OFFLOAD_ENV = 'WARREN_TUN_OFFLOAD';
export const TUN_GRO_ENV = 'WARREN_TUN_GRO';

/** UdpOffloadWish is what the environment allows; the kernel may still refuse either. */
export interface UdpOffloadWish {
  gso: boolean;
  gro: boolean;
}

/** UdpOffloads is what a socket actually does. */
export interface UdpOffloads {
  udpGso: boolean;
  udpGro: boolean;
}

/** TunOffloads is what a TUN device actually does: tunTso, the kernel hands over TCP
 * super-packets that the reader splits; tunGro, written TCP segments are coalesced. */
export interface TunOffloads {
  tunTso: boolean;
  tunGro: boolean;
}

/**
 * udpOffloadWish reads WARREN_OFFLOAD, WARREN_UDP_GSO and WARREN_UDP_GRO: both offloads are on
 * by default, WARREN_OFFLOAD=off turns both off, and the specific switch decides where set. A
 * value other than on/off (or 1/0, true/false) throws.
 */
export function udpOffloadWish(env: NodeJS.ProcessEnv = process.env): UdpOffloadWish {
  const all = onOffSwitch(env, OFFLOAD_ENV) ?? true;
  return { gso: onOffSwitch(env, UDP_GSO_ENV) ?? all, gro: onOffSwitch(env, UDP_GRO_ENV) ?? all };
}

/** TunOffloadWish is what the environment allows for the TUN device; the kernel may refuse. */
export interface TunOffloadWish {
  /** offload: open the device with IFF_VNET_HDR and offer TSO/USO. */
  offload: boolean;
  /** gro: coalesce written TCP segments (only with offload). */
  gro: boolean;
}

/**
 * tunOffloadWish reads WARREN_OFFLOAD, WARREN_TUN_OFFLOAD and WARREN_TUN_GRO: on by default,
 * WARREN_OFFLOAD=off or WARREN_TUN_OFFLOAD=off turns the TUN offloads off, WARREN_TUN_GRO=off
 * only the coalescing. A value other than on/off (or 1/0, true/false) throws.
 */
export function tunOffloadWish(env: NodeJS.ProcessEnv = process.env): TunOffloadWish {
  const offload = onOffSwitch(env, TUN_OFFLOAD_ENV) ?? onOffSwitch(env, OFFLOAD_ENV) ?? true;
  return { offload, gro: offload && (onOffSwitch(env, TUN_GRO_ENV) ?? true) };
}
