// DevicePeer: what the device keeps per peer beyond the protocol state: where to send (the
// endpoint, which roams to the source of the latest authenticated packet) and where from (the
// local address that packet arrived on), its allowed IPs, traffic counters, and packets staged
// while a handshake is under way.
import type { NoisePeer } from '../noise/index.js';
import type { IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import {
  copyWords,
  formatWords,
  readWordsAddress,
  wordsAreIPv4,
  wordsAreZero,
  wordsEqual,
  writeWordsAddress,
} from '../../../../src-shared/lib/ip/words.js';
import type { IpPrefix } from '../../../../src-shared/lib/ip/addr.js';

/** MAX_STAGED bounds the packets held per peer while waiting for a session (wireguard-go: 1024). */
export const MAX_STAGED = 1024;

/** scratch holds an address being set, so that setEndpoint allocates nothing. */
const scratch = new Uint32Array(4);

/** DevicePeer is one configured peer. */
export class DevicePeer {
  /** endpointWords is the endpoint's address as four words, IPv4 mapped (lib/ip/words.ts), so
   * the receive path compares a datagram's source with it without allocating. */
  readonly endpointWords = new Uint32Array(4);
  /** endpointPort is the endpoint's port; 0 means "no endpoint known". */
  endpointPort = 0;
  /**
   * sourceWords is the local address datagrams to the peer leave from, in the same form: the
   * one its latest authenticated packet arrived on, so that on a multi-homed host the peer
   * hears back from the address it wrote to (as the kernel's WireGuard and wireguard-go keep
   * it "sticky"). All zeros lets the kernel choose: no packet heard yet, an endpoint set by
   * configuration, or a source the kernel refused (the send layer zeros it in place).
   */
  readonly sourceWords = new Uint32Array(4);
  /** batchAt is the index of the peer's last datagram in the batch being sent (send-path.ts). */
  batchAt = 0;
  rxBytes = 0;
  txBytes = 0;
  /** rxPackets and txPackets count the datagrams behind rxBytes and txBytes (the metrics). */
  rxPackets = 0;
  txPackets = 0;
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

  /** countTx counts one datagram of n bytes sent outside the data batch (handshakes, cookies). */
  countTx(n: number): void {
    this.txBytes += n;
    this.txPackets++;
  }

  /** endpoint is where the peer is sent to (IPv4 unmapped), or null; it allocates, so status
   * and configuration use it, not the data path. */
  get endpoint(): IpEndpoint | null {
    if (!this.hasEndpoint) return null;
    return { addr: readWordsAddress(this.endpointWords, 0), port: this.endpointPort };
  }

  /** setEndpoint moves the endpoint as configuration does (UAPI, profile, NAT traversal's path
   * choice); it returns whether it changed. The source is forgotten even when the endpoint
   * stays, as the kernel's WireGuard does for an endpoint set over netlink: the kernel picks
   * the source again until the peer is heard from. */
  setEndpoint(e: IpEndpoint): boolean {
    writeWordsAddress(scratch, 0, e.addr);
    this.sourceWords.fill(0);
    return this.setEndpointWords(scratch, 0, e.port);
  }

  /** isEndpoint tells whether the address at words[at] and port are the endpoint. */
  isEndpoint(words: Uint32Array, at: number, port: number): boolean {
    return port === this.endpointPort && wordsEqual(words, at, this.endpointWords, 0);
  }

  /** setEndpointWords moves the endpoint to the address at words[at] and port; whether it changed. */
  setEndpointWords(words: Uint32Array, at: number, port: number): boolean {
    if (this.isEndpoint(words, at, port)) return false;
    copyWords(words, at, this.endpointWords, 0);
    this.endpointPort = port;
    return true;
  }

  /** setSourceWords makes the local address at words[at] the source of datagrams to the peer. */
  setSourceWords(words: Uint32Array, at: number): void {
    if (!wordsEqual(words, at, this.sourceWords, 0)) copyWords(words, at, this.sourceWords, 0);
  }

  /** hasSource tells whether datagrams leave from a chosen local address. */
  get hasSource(): boolean {
    return !wordsAreZero(this.sourceWords, 0);
  }

  /** clearEndpoint forgets the endpoint and the source. */
  clearEndpoint(): void {
    this.endpointWords.fill(0);
    this.endpointPort = 0;
    this.sourceWords.fill(0);
  }

  /** stage copies a packet to send once a session exists; the oldest is dropped when full. */
  stage(buf: Buffer, offset: number, length: number): boolean {
    const dropped = this.staged.length >= MAX_STAGED;
    if (dropped) this.staged.shift();
    this.staged.push(Buffer.from(buf.subarray(offset, offset + length)));
    return !dropped;
  }
}

/** formatPeer names a peer by its endpoint for logs and status: a.b.c.d:port or [v6]:port. */
export function formatPeer(peer: DevicePeer): string {
  if (!peer.hasEndpoint) return 'peer without endpoint';
  const a = formatWords(peer.endpointWords, 0);
  return wordsAreIPv4(peer.endpointWords, 0) ? `${a}:${peer.endpointPort}` : `[${a}]:${peer.endpointPort}`;
}
