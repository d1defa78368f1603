// DevicePeer: what the device keeps per peer beyond the protocol state: where to send (the
// endpoint, which roams to the source of the latest authenticated packet), its allowed IPs,
// traffic counters, and packets staged while a handshake is under way.
import type { NoisePeer } from '../noise/index.js';
import type { IpPrefix } from '../../../../src-shared/lib/ip/addr.js';

/** MAX_STAGED bounds the packets held per peer while waiting for a session (wireguard-go: 1024). */
export const MAX_STAGED = 1024;

/** DevicePeer is one configured peer. */
export class DevicePeer {
  endpointAddr = 0; // host-order IPv4; 0 with port 0 means "no endpoint known"
  endpointPort = 0;
  rxBytes = 0;
  txBytes = 0;
  staged: Buffer[] = [];
  /** sentInBatch counts data packets sent in the batch being processed (timers run once per batch). */
  sentInBatch = 0;

  constructor(
    /** index is the peer's slot number, stable while it is configured (the firewall keys on it). */
    readonly index: number,
    readonly noise: NoisePeer,
    public name: string | null,
    /** allowedIps are the prefixes configured for the peer, either family; the routing table
     * (Device.routes) says which of them it still owns. */
    public allowedIps: IpPrefix[],
  ) {}

  get hasEndpoint(): boolean {
    return this.endpointPort !== 0;
  }

  setEndpoint(addr: number, port: number): boolean {
    if (addr === this.endpointAddr && port === this.endpointPort) return false;
    this.endpointAddr = addr;
    this.endpointPort = port;
    return true;
  }

  /** stage copies a packet to send once a session exists; the oldest is dropped when full. */
  stage(buf: Buffer, offset: number, length: number): boolean {
    const dropped = this.staged.length >= MAX_STAGED;
    if (dropped) this.staged.shift();
    this.staged.push(Buffer.from(buf.subarray(offset, offset + length)));
    return !dropped;
  }
}
