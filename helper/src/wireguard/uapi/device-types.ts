// The one place where the UAPI's addresses (lib IpEndpoint and IpPrefix, both families) meet
// the device's. Both are lib types on both sides, of either family (the socket is dual-stack);
// only a link-local IPv6 endpoint is refused, since the socket layer carries no scope id
// (RFC 4007 §6) to say which link it is on.
import { isLinkLocal, prefixNetwork, type IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import type { IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import type { DevicePeer } from '../device/peer.js';
import { invalid } from './errors.js';

/** toDeviceEndpoint checks an endpoint for the device, or throws -EINVAL for a link-local IPv6 one. */
export function toDeviceEndpoint(e: IpEndpoint): IpEndpoint {
  if (e.addr.family === 6 && isLinkLocal(e.addr))
    throw invalid('link-local IPv6 endpoints (fe80::/10) are not supported: the socket carries no scope id');
  return e;
}

/** toDevicePrefix is an allowed IP as the device's table keeps it: host bits cleared. */
export function toDevicePrefix(p: IpPrefix): IpPrefix {
  return prefixNetwork(p);
}

/** endpointOf is the peer's endpoint, or null when none is known. */
export function endpointOf(peer: DevicePeer): IpEndpoint | null {
  return peer.endpoint;
}
