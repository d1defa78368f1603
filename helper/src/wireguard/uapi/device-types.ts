// The one place where the UAPI's addresses (lib IpEndpoint and IpPrefix, both families) meet
// the device's. Allowed IPs are lib IpPrefix on both sides (either family); endpoints are still
// IPv4 numbers ({addr, port}) on the device, so an IPv6 endpoint is refused here with a clear
// error until the socket is dual-stack; then only this file changes.
import { prefixNetwork, type IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import type { IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import type { DevicePeer } from '../device/peer.js';
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

/** toDevicePrefix is an allowed IP as the device's table keeps it: host bits cleared. */
export function toDevicePrefix(p: IpPrefix): IpPrefix {
  return prefixNetwork(p);
}

/** endpointOf is the peer's endpoint, or null when none is known. */
export function endpointOf(peer: DevicePeer): IpEndpoint | null {
  if (!peer.hasEndpoint) return null;
  return { addr: { family: 4, v4: peer.endpointAddr }, port: peer.endpointPort };
}
