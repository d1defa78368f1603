// Which segmentation offloads the WireGuard socket uses (udp(7) UDP_SEGMENT on send, UDP_GRO on
// receive), and the environment switches that turn them off for benchmarks and diagnosis.

/** OFFLOAD_ENV turns every offload off ('off') or leaves them to the specific switches ('on'). */
export const OFFLOAD_ENV = 'WARREN_OFFLOAD';
/** UDP_GSO_ENV and UDP_GRO_ENV switch one offload ('on' or 'off'); they win over OFFLOAD_ENV. */
export const UDP_GSO_ENV = 'WARREN_UDP_GSO';
export const UDP_GRO_ENV = 'WARREN_UDP_GRO';

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

function onOff(env: NodeJS.ProcessEnv, name: string): boolean | undefined {
  const raw = env[name]?.trim().toLowerCase();
  if (raw === undefined || raw === '') return undefined;
  if (raw === 'on' || raw === '1' || raw === 'true') return true;
  if (raw === 'off' || raw === '0' || raw === 'false') return false;
  // A typo must not silently measure the default.
  throw new Error(`${name}=${JSON.stringify(env[name])}: expected 'on' or 'off'`);
}

/**
 * udpOffloadWish reads WARREN_OFFLOAD, WARREN_UDP_GSO and WARREN_UDP_GRO: both offloads are on
 * by default, WARREN_OFFLOAD=off turns both off, and the specific switch decides where set. A
 * value other than on/off (or 1/0, true/false) throws.
 */
export function udpOffloadWish(env: NodeJS.ProcessEnv = process.env): UdpOffloadWish {
  const all = onOff(env, OFFLOAD_ENV) ?? true;
  return { gso: onOff(env, UDP_GSO_ENV) ?? all, gro: onOff(env, UDP_GRO_ENV) ?? all };
}
