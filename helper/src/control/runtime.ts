// ControlRuntime: a coordinated helper's link to its coordinator. It applies the stored map at
// start (so the helper works while the coordinator is down), keeps the watch open, verifies
// every map against the pinned key and version, applies it, stores it, and reports where the
// helper can be reached. It never lets a coordinator problem stop the data plane.
import { networkInterfaces } from 'node:os';
import { localCandidates, readIfInet6 } from './local-addresses.js';
import { AddressWatch } from './address-watch.js';
import {
  CONTROL_PATHS,
  type NetworkMap,
  type DiscoveryKeyResponse,
  type PunchRequest,
  type RelayTokenRequest,
  type RelayTokenResponse,
  type SignedMap,
  type WatchEvent,
  CONTROL_LIMITS,
  type EndpointReport,
} from '../../../src-shared/wire/control.js';
import type { CoordinatorSummary } from '../../../src-shared/wire/status.js';
import type { CoordinatorConfig } from '../config/validate-coordinator.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { controlRequest } from './http.js';
import { NAT_KEY_BYTES } from '../../../src-shared/lib/nat-keys.js';
import { machineKeyFromSeed } from './sign.js';
import { loadStoredMap, storeMap } from './store.js';
import type { StoredMap } from '../../../src-shared/lib/netmap/open.js';
import { openHeldMap, takeSignedDelta, type HeldMap } from '../../../src-shared/lib/netmap/delta-apply.js';
import { DeltaRefused } from '../../../src-shared/lib/netmap/delta-parse.js';
import { Watch } from './watch.js';
import { CoordinatorChoice } from './failover.js';
import { CoordinatorLink } from './link.js';
import { verifyRelayToken } from '../../../src-shared/lib/relay-token.js';
import { formatKey } from '../../../src-shared/lib/keys.js';

/** ControlOptions wire the runtime to the daemon. */
export interface ControlOptions {
  config: CoordinatorConfig;
  /** publicKey is the WireGuard public key of the profile's PrivateKey, checked against the
   * coordinator's record of this system (relay tokens carry it). */
  publicKey: Buffer;
  stateDir: string;
  adapter: string;
  listenPort: () => number;
  log: Logger;
  /** apply puts a verified map in force; it may throw (the map is then not stored). */
  apply(map: NetworkMap): Promise<void>;
  /** revoked tears down every tunnel: this system is no longer a member. */
  revoked(reason: string): Promise<void>;
  changed(): void;
  /** punched: peer `from` is probing us now (NAT traversal); probe its endpoints too. */
  punched?(from: string, endpoints: string[]): void;
  /** addressMonitor is the command that signals address changes (address-watch.ts), or null
   * to rely on the periodic re-read alone; undefined runs the default. */
  addressMonitor?: readonly string[] | null;
}

/** ControlRuntime is the running link. */
export class ControlRuntime {
  private version = 0;
  /** held is the map in force as decoded JSON, which deltas apply to (delta-apply.ts). */
  private held: HeldMap | null = null;
  private state: CoordinatorSummary['state'] = 'unknown';
  private reachable = false;
  private lastContact: number | null = null;
  private lastError: string | null = null;
  private watch: Watch | null = null;
  private queue: Promise<void> = Promise.resolve();
  private readonly addresses: AddressWatch;
  private readonly link = new CoordinatorLink(Date.now());
  /** coordinators: the one in use and the others a signed map listed (failover.ts). */
  private readonly coordinators: CoordinatorChoice;

  constructor(private readonly o: ControlOptions) {
    this.coordinators = new CoordinatorChoice(o.config.url, o.log);
    // Addresses that change while connected are reported again; while disconnected nothing is
    // sent (the next connect reports whatever is current then).
    this.addresses = new AddressWatch({
      read: () => {
        const value = this.endpointReport();
        return { key: JSON.stringify(value), value };
      },
      report: (value) => (this.reachable ? this.sendEndpoints(value as EndpointReport) : Promise.resolve(false)),
      log: o.log,
      ...(o.addressMonitor !== undefined ? { monitor: o.addressMonitor } : {}),
    });
  }

  /** start applies the stored map (if valid) and opens the watch. */
  async start(): Promise<void> {
    const stored = loadStoredMap(this.o.stateDir);
    if (stored) {
      try {
        await this.take(stored, 'stored');
      } catch (e) {
        this.link.mapFailed(e);
        this.o.log.warn(`stored network map not used: ${(e as Error).message}`);
      }
    }
    const auth = { key: machineKeyFromSeed(this.o.config.machineKey), systemId: this.o.config.systemId };
    this.watch = new Watch(this.coordinators, auth, {
      since: () => this.version,
      onConnection: (up, reason, error) => {
        if (up) this.link.opened();
        else this.link.failed(error, reason ?? null);
        if (up === this.reachable && (up || reason === this.lastError)) return;
        this.reachable = up;
        if (up) {
          this.lastContact = Date.now();
          this.lastError = null;
          this.o.log.info(`coordinator ${this.coordinators.url()}: connected`);
          void this.reportEndpoints();
        } else {
          this.lastError = reason ?? null;
          this.o.log.warn(
            `coordinator ${this.coordinators.url()}: ${reason ?? 'disconnected'}; keeping map version ${this.version} and retrying`,
          );
        }
        this.o.changed();
      },
      onEvent: (e) => this.onEvent(e),
    });
    this.watch.start();
    this.addresses.start();
  }

  stop(): void {
    this.addresses.stop();
    this.watch?.stop();
  }

  summary(): CoordinatorSummary {
    return {
      url: this.coordinators.url(),
      systemId: this.o.config.systemId,
      reachable: this.reachable,
      state: this.state,
      mapVersion: this.version,
      lastContact: this.lastContact,
      lastError: this.lastError,
      ...this.linkSummary(),
    };
  }

  private linkSummary(): Pick<CoordinatorSummary, 'condition' | 'since' | 'lastMapAt' | 'detail'> {
    const f = this.link.current();
    return { condition: f.condition, since: f.since, lastMapAt: this.link.lastMapAt, detail: f.detail };
  }

  private onEvent(e: WatchEvent): void {
    this.lastContact = Date.now();
    switch (e.type) {
      case 'ping':
        return;
      case 'pending':
        this.link.pending();
        if (this.state !== 'pending') {
          this.state = 'pending';
          this.o.log.info('waiting for an administrator to approve this system (warren-coordinator systems approve)');
          this.o.changed();
        }
        return;
      case 'revoked':
        this.link.revoked(e.reason);
        this.serial(async () => {
          if (this.state === 'revoked') return;
          this.state = 'revoked';
          this.o.log.error(`this system was revoked by the coordinator: ${e.reason}; every tunnel is down`);
          await this.o.revoked(e.reason);
          this.o.changed();
        });
        return;
      case 'map':
        this.serial(() =>
          this.take(e.map, 'pushed').catch((err: unknown) => {
            this.link.mapFailed(err);
            throw err;
          }),
        );
        return;
      case 'delta':
        this.serial(() =>
          this.takeDelta(e.delta).catch((err: unknown) => {
            this.link.mapFailed(err);
            throw err;
          }),
        );
        return;
      case 'punch':
        this.o.punched?.(e.from, e.endpoints);
        return;
    }
  }

  // takeDelta applies a delta to the map in force; one that does not fit it (another base, or a
  // result that does not match its digest) costs a full map from GET map instead.
  private async takeDelta(signed: SignedMap): Promise<void> {
    let taken;
    try {
      taken = takeSignedDelta(signed, this.o.config.publicKey, this.o.config.systemId, this.held);
    } catch (e) {
      if (!(e instanceof DeltaRefused && e.needFull)) throw e;
      this.o.log.verbose(`${e.message}; fetching the full map`);
      const full = (await controlRequest({
        base: this.coordinators.url(),
        method: 'GET',
        path: CONTROL_PATHS.map,
        auth: this.auth,
      })) as SignedMap;
      return this.take(full, 'pushed');
    }
    if (taken === null) return;
    await this.installMap(taken.map, taken.held, taken.stored, 'delta');
  }

  private get auth(): { key: ReturnType<typeof machineKeyFromSeed>; systemId: string } {
    return { key: machineKeyFromSeed(this.o.config.machineKey), systemId: this.o.config.systemId };
  }

  /** punch asks the coordinator to tell a peer to probe us now (a signed request). */
  async punch(peerIdentity: string): Promise<void> {
    const body: PunchRequest = { peer: peerIdentity };
    await controlRequest({
      base: this.coordinators.url(),
      method: 'POST',
      path: CONTROL_PATHS.punch,
      auth: this.auth,
      body,
      maxBytes: 4096,
    });
  }

  /** relayToken fetches a token that lets this system use the relay the map lists as `relay`. */
  async relayToken(relay: string): Promise<{ token: Buffer; expires: number }> {
    const body: RelayTokenRequest = { relay };
    const r = (await controlRequest({
      base: this.coordinators.url(),
      method: 'POST',
      path: CONTROL_PATHS.relayToken,
      auth: this.auth,
      body,
      maxBytes: 4096,
    })) as Partial<RelayTokenResponse> | null;
    if (typeof r?.token !== 'string' || typeof r.expires !== 'number' || r.token.length > 1024)
      throw new Error('the coordinator sent a malformed relay token');
    const token = Buffer.from(r.token, 'base64');
    this.checkEnrolledKey(token);
    return { token, expires: r.expires };
  }

  // checkEnrolledKey compares the WireGuard key the coordinator vouches for in a relay token (the
  // one this system enrolled with) with the profile's: peers are given the enrolled one, so a
  // profile whose PrivateKey was replaced reaches nobody, and only the coordinator's record
  // shows it. A token whose signature does not verify says nothing and is left to the relay.
  private checkEnrolledKey(token: Buffer): void {
    const v = verifyRelayToken(token, this.o.config.publicKey, Date.now());
    if (!v.ok) return;
    const enrolled = Buffer.from(v.token.wireguardKey);
    const mismatch = enrolled.equals(this.o.publicKey)
      ? null
      : `the coordinator holds ${formatKey(enrolled)}, the profile gives ${formatKey(this.o.publicKey)}`;
    const before = this.link.current();
    this.link.keyChecked(mismatch);
    if (mismatch !== null && before.condition !== 'key-mismatch') this.o.log.error(`PrivateKey mismatch: ${mismatch}`);
    if (this.link.current() !== before) this.o.changed();
  }

  /** discoveryKey fetches the key this system MACs its discovery requests with. */
  async discoveryKey(): Promise<Buffer> {
    const r = (await controlRequest({
      base: this.coordinators.url(),
      method: 'POST',
      path: CONTROL_PATHS.discoveryKey,
      auth: this.auth,
      body: {},
      maxBytes: 4096,
    })) as Partial<DiscoveryKeyResponse> | null;
    const key = typeof r?.key === 'string' && r.key.length <= 64 ? Buffer.from(r.key, 'base64') : null;
    if (key === null || key.length !== NAT_KEY_BYTES) throw new Error('the coordinator sent a malformed discovery key');
    return key;
  }

  /** coordinatorKey is the pinned Ed25519 key (discovery replies are signed with it). */
  get coordinatorKey(): Buffer {
    return this.o.config.publicKey;
  }

  /** machineSeed is this system's machine key seed (relay registrations are signed with it). */
  get machineSeed(): Buffer {
    return this.o.config.machineKey;
  }

  get systemId(): string {
    return this.o.config.systemId;
  }

  // serial runs map applications one at a time, in arrival order.
  private serial(fn: () => Promise<void>): void {
    this.queue = this.queue.then(fn).catch((err) => {
      this.lastError = (err as Error).message;
      this.o.log.error(`network map not applied: ${(err as Error).message}`);
      this.o.changed();
    });
  }

  private async take(signed: StoredMap, how: 'stored' | 'pushed'): Promise<void> {
    const { map, held } = openHeldMap(signed, this.o.config.publicKey, this.o.config.systemId, this.version);
    if (map.version === this.version && how === 'pushed') {
      this.link.mapTaken();
      this.o.changed();
      return;
    }
    await this.installMap(map, held, how === 'pushed' ? signed : null, how);
  }

  private async installMap(map: NetworkMap, held: HeldMap, store: StoredMap | null, how: string): Promise<void> {
    await this.o.apply(map);
    this.version = map.version;
    this.coordinators.fromMap(map.coordinators);
    this.held = held;
    this.link.mapTaken();
    if (this.state !== 'revoked') this.state = 'active';
    if (store !== null) storeMap(this.o.stateDir, store);
    this.o.log.info(
      `network map version ${map.version} applied (${how}): ${map.peers.length} peer(s), ${map.policies.length} policies`,
    );
    this.o.changed();
  }

  // endpointReport is what this system would report now: its candidate addresses (never the
  // adapter's own, see local-addresses.ts) and its WireGuard port.
  private endpointReport(): EndpointReport {
    const addresses = localCandidates(
      networkInterfaces(),
      this.o.adapter,
      readIfInet6(),
      CONTROL_LIMITS.endpointsPerSystem,
    );
    return { listenPort: this.o.listenPort(), addresses };
  }

  // reportEndpoints runs on every connect: the coordinator may have lost or never had them.
  private async reportEndpoints(): Promise<void> {
    const report = this.endpointReport();
    this.addresses.reported(null);
    if (await this.sendEndpoints(report)) this.addresses.reported(JSON.stringify(report));
  }

  private async sendEndpoints(report: EndpointReport): Promise<boolean> {
    try {
      await controlRequest({
        base: this.coordinators.url(),
        method: 'POST',
        path: CONTROL_PATHS.endpoints,
        auth: this.auth,
        body: report,
      });
      this.o.log.verbose(
        `reported endpoints to the coordinator: ${report.addresses.join(' ') || '(none)'} (port ${report.listenPort})`,
      );
      return true;
    } catch (e) {
      this.o.log.warn(`could not report endpoints to the coordinator: ${(e as Error).message}`);
      return false;
    }
  }
}
