// The `set=1` request of the cross-platform userspace API (https://www.wireguard.com/xplatform/,
// "Configuration Protocol"): key=value lines, device keys first, then one section per peer
// opened by public_key, ended by an empty line. SetParser reads it one line at a time, so a
// request of a few megabytes (one peer with 130,560 allowed IPs) is parsed as it arrives, and
// it refuses what the protocol does not define: unknown keys, device keys inside a peer
// section, malformed or out-of-range values. Nothing is applied here: the result is a
// SetRequest that the target checks as a whole and then applies (device-target.ts), so a
// malformed request changes nothing.
import { clampPrivateKey } from '../../../../src-shared/lib/keys.js';
import { parseIpPrefix, type IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { parseIpEndpoint, type IpEndpoint } from '../../../../src-shared/lib/ip/endpoint.js';
import { invalid, UAPI_ERRNO, UapiError } from './errors.js';

/** MAX_LINE bounds one request line in bytes; the longest valid line is about 80. */
export const MAX_LINE = 512;
/** MAX_SET_BYTES bounds a whole set request (one peer with 130,560 allowed IPs is about 3 MB). */
export const MAX_SET_BYTES = 16 * 1024 * 1024;
/** MAX_SET_PEERS bounds the peer sections of one request. */
export const MAX_SET_PEERS = 65_536;

/** AllowedIpChange adds a prefix to the peer, or with remove ("allowed_ip=-p") takes it away. */
export interface AllowedIpChange {
  prefix: IpPrefix;
  remove: boolean;
}

/** PeerChange is one peer section, in the order of the request. Absent fields stay as they are. */
export interface PeerChange {
  publicKey: Buffer;
  /** remove: forget the peer; the rest of the section is ignored. */
  remove: boolean;
  /** updateOnly: change the peer only if it exists, never create it. */
  updateOnly: boolean;
  /** presharedKey: null removes it (all-zero key). */
  presharedKey?: Buffer | null;
  endpoint?: IpEndpoint;
  persistentKeepalive?: number;
  /** replaceAllowedIps: the peer's prefixes are removed before allowedIps are applied. */
  replaceAllowedIps: boolean;
  allowedIps: AllowedIpChange[];
}

/** SetRequest is a parsed set request. privateKey null removes the key (all-zero key). */
export interface SetRequest {
  privateKey?: Buffer | null;
  listenPort?: number;
  fwmark?: number;
  replacePeers: boolean;
  peers: PeerChange[];
}

const HEX_KEY = /^[0-9a-fA-F]{64}$/;
const DECIMAL = /^[0-9]{1,20}$/;

/** parseHexKey reads a 32-byte key written as 64 hex digits. */
export function parseHexKey(value: string, what: string): Buffer {
  if (!HEX_KEY.test(value)) throw invalid(`${what} must be 64 hex digits`);
  return Buffer.from(value, 'hex');
}

/** parseUnsigned reads a decimal number without sign (leading zeros allowed, as Go's
 * strconv.ParseUint that wireguard-go uses) up to max. */
export function parseUnsigned(value: string, max: number, what: string): number {
  if (!DECIMAL.test(value)) throw invalid(`${what} must be a decimal number`);
  const n = Number(value);
  if (n > max) throw invalid(`${what} must be at most ${max}`);
  return n;
}

function isZero(b: Buffer): boolean {
  return b.every((x) => x === 0);
}

function expectTrue(value: string, key: string): void {
  if (value !== 'true') throw invalid(`${key} must be "true", not ${JSON.stringify(value.slice(0, 32))}`);
}

/** SetParser builds a SetRequest from the lines of a set request (without "set=1"). */
export class SetParser {
  private readonly req: SetRequest = { replacePeers: false, peers: [] };
  private peer: PeerChange | null = null;
  private bytes = 0;

  /** line takes one line without its newline; it throws UapiError on the first problem. */
  line(text: string): void {
    this.bytes += text.length + 1;
    if (text.length > MAX_LINE) throw new UapiError(UAPI_ERRNO.protocol, `line longer than ${MAX_LINE} bytes`);
    if (this.bytes > MAX_SET_BYTES) throw new UapiError(UAPI_ERRNO.protocol, `request over ${MAX_SET_BYTES} bytes`);
    const eq = text.indexOf('=');
    if (eq < 0) throw new UapiError(UAPI_ERRNO.protocol, `line without "=": ${JSON.stringify(text.slice(0, 32))}`);
    const key = text.slice(0, eq);
    const value = text.slice(eq + 1);
    if (key === 'public_key') this.startPeer(value);
    else if (this.peer === null) this.deviceLine(key, value);
    else this.peerLine(this.peer, key, value);
  }

  /** finish returns the request once its empty line arrived. */
  finish(): SetRequest {
    return this.req;
  }

  private startPeer(value: string): void {
    if (this.req.peers.length >= MAX_SET_PEERS) {
      throw new UapiError(UAPI_ERRNO.protocol, `more than ${MAX_SET_PEERS} peers in one request`);
    }
    this.peer = {
      publicKey: parseHexKey(value, 'public_key'),
      remove: false,
      updateOnly: false,
      replaceAllowedIps: false,
      allowedIps: [],
    };
    this.req.peers.push(this.peer);
  }

  private deviceLine(key: string, value: string): void {
    const req = this.req;
    switch (key) {
      case 'private_key': {
        const k = parseHexKey(value, 'private_key');
        req.privateKey = isZero(k) ? null : clampPrivateKey(k);
        return;
      }
      case 'listen_port':
        req.listenPort = parseUnsigned(value, 65535, 'listen_port');
        return;
      case 'fwmark':
        req.fwmark = parseUnsigned(value, 0xffffffff, 'fwmark');
        return;
      case 'replace_peers':
        expectTrue(value, key);
        // Device keys all come before the first peer, so this clears only peers from before the
        // request, as wireguard-go's RemoveAllPeers at this line does.
        req.replacePeers = true;
        return;
      default:
        throw invalid(`invalid device key ${JSON.stringify(key.slice(0, 32))}`);
    }
  }

  private peerLine(peer: PeerChange, key: string, value: string): void {
    switch (key) {
      case 'remove':
        expectTrue(value, key);
        peer.remove = true;
        return;
      case 'update_only':
        expectTrue(value, key);
        peer.updateOnly = true;
        return;
      case 'preshared_key': {
        const k = parseHexKey(value, 'preshared_key');
        peer.presharedKey = isZero(k) ? null : k;
        return;
      }
      case 'endpoint': {
        const e = parseIpEndpoint(value);
        if (e === null) throw invalid(`endpoint must be a.b.c.d:port or [ipv6]:port`);
        peer.endpoint = e;
        return;
      }
      case 'persistent_keepalive_interval':
        peer.persistentKeepalive = parseUnsigned(value, 65535, 'persistent_keepalive_interval');
        return;
      case 'replace_allowed_ips':
        expectTrue(value, key);
        // Prefixes named earlier in this section were added before the replace, so they go too.
        peer.replaceAllowedIps = true;
        peer.allowedIps = [];
        return;
      case 'allowed_ip':
        peer.allowedIps.push(parseAllowedIp(value));
        return;
      case 'protocol_version':
        if (value !== '1') throw invalid(`protocol_version ${JSON.stringify(value.slice(0, 32))} is not supported`);
        return;
      default:
        throw invalid(`invalid peer key ${JSON.stringify(key.slice(0, 32))}`);
    }
  }
}

/** parseAllowedIp reads "prefix" or "-prefix" (removal, as wireguard-go accepts). */
function parseAllowedIp(value: string): AllowedIpChange {
  const remove = value.startsWith('-');
  const prefix = parseIpPrefix(remove ? value.slice(1) : value);
  if (prefix === null) throw invalid(`allowed_ip must be address/bits`);
  return { prefix, remove };
}
