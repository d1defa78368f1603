// The reply to `get=1` (https://www.wireguard.com/xplatform/, "Configuration Protocol"): the
// device's keys, then one section per peer opened by public_key, then errno=0 and an empty
// line. The keys and their order are wireguard-go's (device/uapi.go IpcGetOperation), which is
// what wg(8) parses: private_key only when set, fwmark only when non-zero, and per peer the
// preshared key (zeros when none), protocol_version, the endpoint when known, the time of the
// last handshake in seconds and nanoseconds since the Unix epoch (0 and 0 for never), bytes
// sent and received, the keepalive interval and the allowed IPs.
import { formatIpPrefix, prefixNetwork, type IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint, type IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';

/** UapiPeerState is what a get reports of one peer. */
export interface UapiPeerState {
  publicKey: Buffer;
  presharedKey: Buffer | null;
  endpoint: IpEndpoint | null;
  /** lastHandshakeNs is the wall-clock time of the last handshake in ns since the epoch. */
  lastHandshakeNs: bigint | null;
  txBytes: number;
  rxBytes: number;
  persistentKeepalive: number;
  allowedIps: readonly IpPrefix[];
}

/** UapiDeviceState is what a get reports of the device. */
export interface UapiDeviceState {
  privateKey: Buffer | null;
  listenPort: number;
  fwmark: number;
  peers: Iterable<UapiPeerState>;
}

const ZERO_KEY = Buffer.alloc(32);
const NS_PER_S = 1_000_000_000n;

/** serializeGet writes the whole reply to a get, ending with "errno=0\n\n". */
export function serializeGet(s: UapiDeviceState): string {
  const out: string[] = [];
  if (s.privateKey !== null) out.push(`private_key=${s.privateKey.toString('hex')}`);
  if (s.listenPort !== 0) out.push(`listen_port=${s.listenPort}`);
  if (s.fwmark !== 0) out.push(`fwmark=${s.fwmark}`);
  for (const p of s.peers) {
    out.push(`public_key=${p.publicKey.toString('hex')}`);
    out.push(`preshared_key=${(p.presharedKey ?? ZERO_KEY).toString('hex')}`);
    out.push('protocol_version=1');
    if (p.endpoint !== null) out.push(`endpoint=${formatIpEndpoint(p.endpoint)}`);
    const ns = p.lastHandshakeNs ?? 0n;
    out.push(`last_handshake_time_sec=${ns / NS_PER_S}`);
    out.push(`last_handshake_time_nsec=${ns % NS_PER_S}`);
    out.push(`tx_bytes=${p.txBytes}`);
    out.push(`rx_bytes=${p.rxBytes}`);
    out.push(`persistent_keepalive_interval=${p.persistentKeepalive}`);
    for (const a of p.allowedIps) out.push(`allowed_ip=${formatIpPrefix(prefixNetwork(a))}`);
  }
  out.push('errno=0', '', '');
  return out.join('\n');
}

/** errorReply is the reply to a request that failed. */
export function errorReply(errno: number): string {
  return `errno=${errno}\n\n`;
}
