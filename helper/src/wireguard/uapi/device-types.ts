// The one place where the UAPI's addresses (lib IpEndpoint and IpPrefix, both families) meet
// the device's, which today are IPv4 numbers ({addr, port} and {addr, bits}). IPv6 is refused
// here with a clear error until the device carries it; then only this file changes.
import { prefixNetwork, type IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import type { IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import type { DevicePeer, Prefix } from '../device/peer.js';
import { invalid } from './errors.js';

/** DeviceEndpoint is an endpoint as the device's socket takes it. */
export interface DeviceEndpoint {
  addr: number;
  port: number;
}

/** toDeviceEndpoint converts an endpoint for the device, or throws -EINVAL for IPv6. */
export function toDeviceEndpoint(e: IpEndpoint): DeviceEndpoint {
  if (e.addr.family !== 4) throw invalid('IPv6 endpoints are not supported by this data plane yet');
  return { addr: e.addr.v4, port: e.port };
}

/** toDevicePrefix converts an allowed IP for the device (host bits cleared), or throws -EINVAL
 * for IPv6. */
export function toDevicePrefix(p: IpPrefix): Prefix {
  const n = prefixNetwork(p);
  if (n.addr.family !== 4) throw invalid('IPv6 allowed IPs are not supported by this data plane yet');
  return { addr: n.addr.v4, bits: n.bits };
}

/** endpointOf is the peer's endpoint, or null when none is known. */
export function endpointOf(peer: DevicePeer): IpEndpoint | null {
  if (!peer.hasEndpoint) return null;
  return { addr: { family: 4, v4: peer.endpointAddr }, port: peer.endpointPort };
}

/** prefixOf converts a device prefix back. */
export function prefixOf(p: Prefix): IpPrefix {
  return { addr: { family: 4, v4: p.addr }, bits: p.bits };
}
