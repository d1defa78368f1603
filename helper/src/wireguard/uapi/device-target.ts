// DeviceTarget serves UAPI requests against a running Device: a get reads its state, a set is
// checked as a whole and then applied. Validate-then-apply: a request that is malformed
// (set-request.ts), names an endpoint the socket cannot reach (IPv6 for now, device-types.ts)
// or would overflow the peer or allowed-IP tables changes nothing. The one step that can still
// fail once applying has begun is the operating system's: binding listen_port (-EADDRINUSE) or
// setting fwmark on the socket. Both run first, so a failed bind changes nothing; a failed
// fwmark after a new port leaves the new port. wireguard-go, by contrast, applies every line as
// it reads it.
//
// Large sets yield to the event loop every APPLY_SLICE allowed IPs, so packets keep flowing
// while a peer with 130,560 prefixes is installed.
import { formatKey } from '../../../../src-shared/lib/keys.js';
import type { Logger } from '../../../../src-shared/lib/log.js';
import type { Bind } from '../device/bind.js';
import type { Device } from '../device/device.js';
import type { DevicePeer } from '../device/peer.js';
import type { IpPrefix } from '../../../../src-shared/lib/ip/addr.js';
import { endpointOf, toDeviceEndpoint, toDevicePrefix } from './device-types.js';
import { UAPI_ERRNO, UapiError } from './errors.js';
import { serializeGet, type UapiPeerState } from './get-response.js';
import type { UapiHandler } from './connection.js';
import type { PeerChange, SetRequest } from './set-request.js';

/** MAX_PEERS bounds the device's peer table through the UAPI. */
export const MAX_PEERS = 65_536;
/** MAX_ALLOWED_IPS bounds the device's allowed-IP table through the UAPI. */
export const MAX_ALLOWED_IPS = 1 << 20;
/** APPLY_SLICE is how many allowed IPs are applied between two yields to the event loop. */
export const APPLY_SLICE = 4096;

/** DeviceTargetOptions: how to open a socket on another port, and whether set is allowed. */
export interface DeviceTargetOptions {
  log: Logger;
  /** openBind binds a new UDP socket (port 0: any); an error with code EADDRINUSE becomes -EADDRINUSE. */
  openBind?: (port: number) => Bind;
  /** readOnly, when set, refuses every set with -EPERM and logs this reason. */
  readOnly?: string;
}

const ZERO_KEY = Buffer.alloc(32);
const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** DeviceTarget is the UapiHandler of a Device. */
export class DeviceTarget implements UapiHandler {
  private fwmark = 0;

  constructor(
    private readonly device: Device,
    private readonly opts: DeviceTargetOptions,
  ) {}

  get(): Promise<string> {
    const dev = this.device;
    const owned = dev.routes.byValue();
    const peers: UapiPeerState[] = [];
    for (const p of dev.peersByKey.values()) {
      const psk = p.noise.handshake.presharedKey;
      peers.push({
        publicKey: p.noise.publicKey,
        presharedKey: psk.equals(ZERO_KEY) ? null : psk,
        endpoint: endpointOf(p),
        lastHandshakeNs: p.noise.lastHandshakeNs,
        txBytes: p.txBytes,
        rxBytes: p.rxBytes,
        persistentKeepalive: p.noise.persistentKeepalive,
        allowedIps: owned.get(p) ?? [],
      });
    }
    const text = serializeGet({ privateKey: dev.privateKey, listenPort: dev.bind.port, fwmark: this.fwmark, peers });
    return Promise.resolve(text);
  }

  async set(req: SetRequest): Promise<void> {
    if (this.opts.readOnly !== undefined) {
      this.opts.log.warn(`UAPI set refused: ${this.opts.readOnly}`);
      throw new UapiError(UAPI_ERRNO.permission, this.opts.readOnly);
    }
    this.check(req);
    this.applySocket(req);
    const dev = this.device;
    if (req.privateKey !== undefined) dev.setPrivateKey(req.privateKey);
    if (req.replacePeers) dev.removeAllPeers();
    const self = dev.core.hasPrivateKey ? dev.core.publicKey : null;
    const touched = new Set<DevicePeer>();
    for (const change of req.peers) {
      // A section naming our own key is ignored, as wireguard-go does.
      if (self !== null && change.publicKey.equals(self)) continue;
      await this.applyPeer(change, touched);
    }
    this.refreshAllowedIps(touched);
  }

  // check refuses, before anything changes, what the device cannot take.
  private check(req: SetRequest): void {
    const dev = this.device;
    let newPeers = 0;
    let addedIps = 0;
    const seen = new Set<string>();
    for (const c of req.peers) {
      if (c.endpoint !== undefined) toDeviceEndpoint(c.endpoint);
      for (const a of c.allowedIps) {
        toDevicePrefix(a.prefix);
        if (!a.remove) addedIps++;
      }
      const key = formatKey(c.publicKey);
      if (!c.remove && !c.updateOnly && !dev.peersByKey.has(key) && !seen.has(key)) newPeers++;
      seen.add(key);
    }
    const peers = (req.replacePeers ? 0 : dev.peersByKey.size) + newPeers;
    if (peers > MAX_PEERS) throw new UapiError(UAPI_ERRNO.invalid, `more than ${MAX_PEERS} peers`);
    if (dev.routes.size + addedIps > MAX_ALLOWED_IPS) {
      throw new UapiError(UAPI_ERRNO.invalid, `more than ${MAX_ALLOWED_IPS} allowed IPs`);
    }
  }

  // applySocket rebinds for a new listen_port (first: nothing has changed if it fails) and sets fwmark.
  private applySocket(req: SetRequest): void {
    const dev = this.device;
    const mark = req.fwmark ?? this.fwmark;
    if (req.listenPort !== undefined && (req.listenPort === 0 || req.listenPort !== dev.bind.port)) {
      if (!this.opts.openBind) throw new UapiError(UAPI_ERRNO.portInUse, 'this device cannot change its listen port');
      let bind: Bind;
      try {
        bind = this.opts.openBind(req.listenPort);
      } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new UapiError(err.code === 'EADDRINUSE' ? UAPI_ERRNO.portInUse : UAPI_ERRNO.io, err.message);
      }
      try {
        if (mark !== 0) bind.setMark(mark);
      } catch (e) {
        bind.close();
        throw new UapiError(UAPI_ERRNO.portInUse, `fwmark: ${(e as Error).message}`);
      }
      dev.replaceBind(bind).close();
      this.opts.log.verbose(`UAPI: listening on UDP port ${bind.port}`);
    } else if (req.fwmark !== undefined && req.fwmark !== this.fwmark) {
      try {
        dev.bind.setMark(req.fwmark);
      } catch (e) {
        throw new UapiError(UAPI_ERRNO.portInUse, `fwmark: ${(e as Error).message}`);
      }
    }
    this.fwmark = mark;
  }

  private async applyPeer(c: PeerChange, touched: Set<DevicePeer>): Promise<void> {
    const dev = this.device;
    if (c.remove) {
      dev.removePeer(c.publicKey);
      return;
    }
    let peer = dev.peersByKey.get(formatKey(c.publicKey));
    if (peer === undefined) {
      if (c.updateOnly) return;
      peer = dev.addPeer({ publicKey: c.publicKey, allowedIps: [], persistentKeepalive: 0 });
      this.opts.log.verbose(`UAPI: peer ${formatKey(c.publicKey)} created`);
    }
    touched.add(peer);
    const now = dev.clock();
    let restart = false;
    if (c.presharedKey !== undefined && peer.noise.setPresharedKey(c.presharedKey ?? ZERO_KEY)) restart = true;
    if (c.endpoint !== undefined) {
      peer.setEndpoint(toDeviceEndpoint(c.endpoint));
    }
    const keepaliveOn = c.persistentKeepalive !== undefined && c.persistentKeepalive > 0;
    const wasOff = peer.noise.persistentKeepalive === 0;
    if (c.persistentKeepalive !== undefined) peer.noise.persistentKeepalive = c.persistentKeepalive;
    if (c.replaceAllowedIps) {
      dev.routes.removeValue(peer);
      peer.allowedIps = [];
    }
    // Adds go to the device in runs (addAllowedIps), in request order with the removals.
    let adds: IpPrefix[] = [];
    let n = 0;
    for (const a of c.allowedIps) {
      const p = toDevicePrefix(a.prefix);
      if (a.remove) {
        dev.addAllowedIps(peer, adds);
        adds = [];
        if (dev.routes.exact(p) === peer) dev.routes.remove(p);
      } else adds.push(p);
      if (++n % APPLY_SLICE === 0) {
        dev.addAllowedIps(peer, adds);
        adds = [];
        await tick();
      }
    }
    dev.addAllowedIps(peer, adds);
    // wireguard-go's handlePostConfig: a keepalive turned on goes out now; waiting packets too.
    if (!dev.isUp || !peer.hasEndpoint || !dev.peersByKey.has(formatKey(c.publicKey))) return;
    if (restart) peer.noise.restart();
    if ((keepaliveOn && wasOff) || (restart && peer.staged.length > 0)) dev.sendKeepaliveNow(peer, now);
    dev.flushStaged(peer, now);
  }

  // refreshAllowedIps rewrites the peers' own lists from the routing table after the set, since
  // an inserted prefix may have moved from another peer.
  private refreshAllowedIps(touched: Set<DevicePeer>): void {
    if (touched.size === 0) return;
    const owned = this.device.routes.byValue();
    for (const peer of this.device.peersByKey.values()) peer.allowedIps = owned.get(peer) ?? [];
  }
}
