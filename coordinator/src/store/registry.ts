// The coordinator's systems and policy in memory, written through to the store. Every change
// that can alter a network map is one store transaction that also bumps the global map
// version; only after it commits does memory change and onChange fire (so a failed write
// leaves both as they were).
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { ControlError } from '../http/errors.js';
import { allocateAddress, AddressSpaceFull, randomIdentity } from './allocate.js';
import { insertUnderNewIdentity, type NewSystem } from './registry-insert.js';
import { diffStored, type StoredChanges } from './registry-sync.js';
import { findSystem, lookupSystem } from './registry-lookup.js';
import { SystemIndex } from './registry-index.js';
import { WriteBatch } from './registry-batch.js';
import { sanitiseHostname, uniqueName } from '../policy/names.js';
import { ensureNetwork6, formatSystemAddress6 } from './network6.js';
import { EMPTY_POLICY, parsePolicyFile, type PolicyFile } from '../policy/policy-file.js';
import { SOFT_VERSIONS, SoftWrites } from './soft-writes.js';
import type { AppliedPolicy, Store, SystemPatch, SystemRow } from './store.js';

import type { LiveSystem, RegistryEvents, RegistryOptions } from './registry-types.js';

export type { NewSystem } from './registry-insert.js';
export type { LiveSystem, RegistryEvents, RegistryOptions } from './registry-types.js';

/** LAST_SEEN_WRITE_MS limits how often last_seen alone is written for a busy system. */
const LAST_SEEN_WRITE_MS = 60_000;

/** Registry holds systems and the policy; see the file comment. */
export class Registry {
  private readonly ix = new SystemIndex();
  private readonly systems = this.ix.systems;
  /** issued holds every identity ever issued (the store's issued_identities); it never shrinks. */
  private readonly issued: Set<string>;
  private readonly newIdentity: () => string;
  private activeCache: LiveSystem[] | null = null;
  private versionNow: number;
  private policyNow: PolicyFile = EMPTY_POLICY;
  private appliedNow: AppliedPolicy | null;
  /** soft holds what online flags and UDP mappings changed in memory only (soft-writes.ts). */
  private readonly soft = new SoftWrites(() => this.flushSoft());
  /** batch is the group commit of batched (registry-batch.ts). */
  private readonly batch = new WriteBatch(
    () => this.store,
    () => this.reload(Date.now()),
  );
  /** policyEpoch grows with every applied policy file. */
  policyEpoch = 0;
  /** worldEpoch grows with every change that can change who is whose peer: the policy, a
   * system joining or leaving the active set, tags, (for PublicIp) an observed address, worldChanged. */
  worldEpoch = 0;
  /** network6 is the network's unique local /48 (network6.ts); network6Created says this start
   * drew it (a new data dir, or the first start after the upgrade that added IPv6). */
  readonly network6: IpPrefix;
  readonly network6Created: boolean;
  /** countryDb judges PublicIp's countries (serve --geoip; null: none loaded). */
  readonly countryDb: NonNullable<RegistryOptions['countryDb']> | null;

  constructor(
    readonly store: Store,
    readonly network: Cidr,
    readonly zone: string,
    private readonly events: RegistryEvents,
    startedAt: number,
    opts: RegistryOptions = {},
  ) {
    const n6 = ensureNetwork6(store);
    this.network6 = n6.prefix;
    this.network6Created = n6.created;
    this.issued = new Set(store.issuedIdentities());
    this.newIdentity = opts.newIdentity ?? randomIdentity;
    this.countryDb = opts.countryDb ?? null;
    for (const row of store.listSystems())
      this.index({ ...row, online: false, offlineSince: startedAt, rev: 0, observedUdp: null });
    this.appliedNow = store.currentPolicy();
    if (this.appliedNow) {
      const r = parsePolicyFile(this.appliedNow.text, network, this.network6);
      if (!r.ok) {
        throw new Error(
          `the stored policy file no longer validates (${r.issues[0]?.problem ?? 'unknown problem'}); apply a fixed one with an older version, or move coordinator.db away`,
        );
      }
      this.policyNow = r.file;
    }
    // Online flags were lost with the old process: bump so every map sent from now on is newer
    // than any map sent before the restart, including versions it had not written yet.
    this.versionNow = store.transaction(() => store.bumpMapVersion(store.mapVersion() + SOFT_VERSIONS));
  }

  /** address6 is s's IPv6 address in text (network6.ts: derived from its IPv4 address). */
  address6(s: { address: number }): string {
    return formatSystemAddress6(this.network6, s.address);
  }

  get version(): number {
    return this.versionNow;
  }

  get policy(): PolicyFile {
    return this.policyNow;
  }

  get appliedPolicy(): AppliedPolicy | null {
    return this.appliedNow;
  }

  get(id: string): LiveSystem | undefined {
    return this.systems.get(id);
  }

  all(): LiveSystem[] {
    return [...this.systems.values()];
  }

  /** active returns the active systems (cached until the next change). */
  active(): LiveSystem[] {
    this.activeCache ??= [...this.systems.values()].filter((s) => s.state === 'active');
    return this.activeCache;
  }

  /** find looks a system up by systemId or identity (any case); live systems win over revoked. */
  find(ref: string): LiveSystem | undefined {
    return findSystem(this.systems, this.ix.liveIdentity, ref);
  }

  /** lookup finds the system an admin names by systemId, identity (any case) or name (any
   * case); registry-lookup.ts says how ambiguity is answered. */
  lookup(ref: string): LiveSystem | LiveSystem[] {
    return lookupSystem(this.systems, this.ix.liveIdentity, ref);
  }

  byWireguardKey(key: string): LiveSystem | undefined {
    return this.ix.byWgKey.get(key);
  }

  byMachine(key: string): LiveSystem | undefined {
    return this.ix.byMachineKey.get(key);
  }

  /** ownedBy lists the systems the user enrolled by signing in (revoked ones too). */
  ownedBy(userId: string): LiveSystem[] {
    return this.ix.ownedBy(userId);
  }

  /** owners lists the ids of the users who own systems. */
  owners(): string[] {
    return this.ix.owners();
  }

  /** identityIssued tells whether identity was ever issued here (to a live, revoked or removed system). */
  identityIssued(identity: string): boolean {
    return this.issued.has(identity);
  }

  nameTaken(name: string): boolean {
    return this.ix.liveName.has(name);
  }

  /** allocate picks a free address (not in also either); the caller inserts the system before
   * allocating again. */
  allocate(also: ReadonlySet<number> = new Set()): number {
    try {
      const inUse = (a: number): boolean => this.ix.liveAddress.has(a) || also.has(a);
      return allocateAddress(this.network, inUse, this.ix.liveAddress.size + also.size);
    } catch (e) {
      if (e instanceof AddressSpaceFull)
        throw new ControlError('address-space-full', `${e.message}; revoke unused systems or use a larger --network`);
      throw e;
    }
  }

  /** insert stores a new system under a newly issued identity; extra runs in the same
   * transaction with the stored row (e.g. counting a key use, the audit entry). */
  insert(row: NewSystem, now: number, extra: (stored: SystemRow) => void = () => {}): LiveSystem {
    let stored: SystemRow | null = null;
    this.commit(() => {
      stored = insertUnderNewIdentity(row, {
        store: this.store,
        issued: this.issued,
        newIdentity: this.newIdentity,
        freeAddress: (also) => this.allocate(also),
        freeName: (hostname, also) => uniqueName(sanitiseHostname(hostname), (n) => this.nameTaken(n) || also.has(n)),
      });
      extra(stored);
    });
    const s: LiveSystem = { ...stored!, online: false, offlineSince: now, rev: 0, observedUdp: null };
    this.issued.add(s.identity);
    this.index(s);
    if (s.state === 'active') this.worldEpoch++;
    this.events.changed(s);
    return s;
  }

  /** batched runs fn, which makes its changes through this registry, in one transaction with
   * the others queued in the same turn of the event loop (registry-batch.ts: concurrent
   * enrolments share a commit); it resolves once that has committed. */
  batched<T>(fn: () => T): Promise<T> {
    return this.batch.run(fn);
  }

  /** patch changes a system and bumps the map version; extra runs in the same transaction
   * (e.g. counting a key use). */
  patch(s: LiveSystem, patch: SystemPatch, extra: () => void = () => {}): void {
    this.commit(() => {
      this.store.updateSystem(s.id, patch);
      extra();
    });
    this.ix.unindex(s);
    if (
      patch.tags !== undefined ||
      (patch.state !== undefined && patch.state !== s.state) ||
      patch.observedIp !== undefined
    )
      this.worldEpoch++;
    Object.assign(s, patch);
    s.rev++;
    this.index(s);
    this.events.changed(s);
  }

  /** revoke marks s revoked, gives back its address and name (its identity stays issued), and
   * tells listeners. */
  revoke(s: LiveSystem): void {
    if (s.state === 'revoked') return;
    this.patch(s, { state: 'revoked' });
    this.events.revoked(s);
  }

  /** remove deletes s entirely (ephemeral systems). */
  remove(s: LiveSystem): void {
    this.commit(() => this.store.deleteSystem(s.id));
    this.forget(s);
  }

  private forget(s: LiveSystem): void {
    this.ix.drop(s);
    this.activeCache = null;
    this.worldEpoch++;
    this.events.removed(s);
    this.events.changed(s);
  }

  /** applyPolicy stores a validated file's text and makes it the policy in force. */
  applyPolicy(text: string, file: PolicyFile, now: number): AppliedPolicy {
    const version = this.commit(() => this.store.insertPolicy(text, now, this.store.mapVersion() + 1));
    this.inForce(this.store.currentPolicy(), file);
    return this.appliedNow ?? { id: 0, text, appliedAt: now, mapVersion: version };
  }

  /** worldChanged: a sign-in lapsed or a user was disabled (extra: in the same transaction). */
  worldChanged(extra: () => void = () => {}, commit = true): void {
    if (commit) this.commit(extra);
    this.worldEpoch++;
    this.events.changed(null);
  }

  /** setOnline records a watch opening or the last one closing. */
  setOnline(s: LiveSystem, online: boolean, now: number): void {
    if (s.online === online || !this.systems.has(s.id)) return;
    this.versionNow++;
    this.soft.seen.set(s.id, now);
    this.soft.bump();
    s.online = online;
    s.lastSeen = now;
    if (!online) s.offlineSince = now;
    s.rev++;
    this.events.changed(s, true);
  }

  /** noteSeen records the address a signed request came from; a new address changes maps
   * (endpoints, PublicIp), otherwise last_seen is written at most once a minute. */
  noteSeen(s: LiveSystem, ip: string | null, now: number): void {
    if (!this.systems.has(s.id)) return;
    if (ip !== null && ip !== s.observedIp) {
      // A system that now talks from another address has moved networks: its UDP mapping
      // from the old one would send peers' first probes into the void.
      if (s.observedUdp !== null && !s.observedUdp.startsWith(`${ip.replace(/^::ffff:/, '')}:`)) s.observedUdp = null;
      this.patch(s, { observedIp: ip, lastSeen: now });
      return;
    }
    if (s.lastSeen === null || now - s.lastSeen >= LAST_SEEN_WRITE_MS) {
      // With the soft writes (soft-writes.ts), not a commit of its own: a fleet reconnecting
      // at once would otherwise cost an fsync per system.
      this.soft.seen.set(s.id, now);
      this.soft.schedule();
      s.lastSeen = now;
    }
  }

  /** noteUdp records a system's observed UDP mapping ("ip:port"); a change bumps the map version, so peers
   * get maps listing it first (returns whether it changed). Soft, batched like online flags: a system that
   * churns mappings must not cost a map pass each, and a punch (api/nat.ts) carries it to a peer at once. */
  noteUdp(s: LiveSystem, mapping: string): boolean {
    if (!this.systems.has(s.id) || s.observedUdp === mapping) return false;
    this.versionNow++;
    this.soft.bump();
    s.observedUdp = mapping;
    s.rev++;
    this.events.changed(s, true);
    return true;
  }

  /** atLeast makes the next map newer than version v that another coordinator on the same
   * database sent (a helper failing over names it in its watch's since): at most SOFT_VERSIONS
   * past the stored counter, as far as a coordinator's unwritten versions reach. */
  atLeast(v: number): void {
    if (v < this.versionNow || v > this.store.mapVersion() + SOFT_VERSIONS) return;
    this.versionNow = v + 1;
    this.soft.bump();
  }

  /** expiredEphemeral lists ephemeral systems offline for longer than timeoutMs, and not seen
   * for as long (by another coordinator on the same database either: multi.ts). */
  expiredEphemeral(now: number, timeoutMs: number): LiveSystem[] {
    const gone = (s: LiveSystem): boolean =>
      !s.online && now - s.offlineSince >= timeoutMs && (s.lastSeen === null || now - s.lastSeen >= timeoutMs);
    return [...this.systems.values()].filter((s) => s.ephemeral && gone(s));
  }

  /** flushSoft writes the versions and last_seen values that soft changes left in memory
   * (soft-writes.ts); the server calls it before it closes the store. */
  flushSoft(): void {
    if (!this.soft.pending) return;
    this.store.transaction(() => {
      this.writeSoft();
      if (this.soft.unwritten > 0) this.store.bumpMapVersion(this.versionNow - 1);
    });
    this.soft.written();
  }

  private writeSoft(): void {
    this.store.noteLastSeen([...this.soft.seen].filter(([id]) => this.systems.has(id)));
  }

  /** reload brings memory up to what the store holds: changes other coordinators on the same
   * database committed (pg-notify.ts), all systems or changes since a mark (which name the policy
   * in force: its text is read only if another). usersChanged: users.ts refresh found them changed. */
  reload(now: number, usersChanged = false, changes?: StoredChanges): void {
    const d = diffStored(this.systems, changes ?? this.store.listSystems());
    const applied = changes?.policyId === (this.appliedNow?.id ?? 0) ? this.appliedNow : this.store.currentPolicy();
    const policyChanged = (applied?.id ?? 0) !== (this.appliedNow?.id ?? 0);
    for (const { s, lastSeen } of d.seen) s.lastSeen = lastSeen;
    const stored = Math.max(this.versionNow, changes?.mapVersion ?? this.store.mapVersion());
    if (d.added.length + d.changed.length + d.removed.length === 0 && !policyChanged && !usersChanged) {
      this.versionNow = stored;
      return;
    }
    // One version past every map this coordinator sent (soft versions included), written soon.
    this.versionNow = stored + 1;
    this.soft.bump();
    this.activeCache = null;
    // Another coordinator validated it; one that cannot parse it (an older version) keeps its own.
    const parsed = policyChanged && applied ? parsePolicyFile(applied.text, this.network, this.network6) : null;
    if (parsed?.ok) this.inForce(applied, parsed.file);
    else if (usersChanged) this.worldChanged(() => {}, false);
    for (const row of d.added) {
      const s: LiveSystem = { ...row, online: false, offlineSince: now, rev: 0, observedUdp: null };
      this.issued.add(s.identity);
      this.index(s);
      this.worldEpoch++;
      this.events.changed(s);
    }
    for (const { s, patch } of d.changed) {
      const wasRevoked = s.state === 'revoked';
      this.ix.unindex(s);
      Object.assign(s, patch);
      s.rev++;
      this.index(s);
      this.worldEpoch++;
      this.events.changed(s);
      if (!wasRevoked && s.state === 'revoked') this.events.revoked(s);
    }
    for (const s of d.removed) this.forget(s);
  }

  private inForce(applied: AppliedPolicy | null, file: PolicyFile): void {
    this.appliedNow = applied;
    this.policyNow = file;
    this.policyEpoch++;
    this.worldEpoch++;
    this.events.changed(null);
  }

  private commit(fn: () => void): number {
    const v = this.store.transaction(() => {
      this.writeSoft();
      fn();
      // After any versions soft changes used in memory only.
      return this.store.bumpMapVersion(this.versionNow);
    });
    this.soft.written();
    this.versionNow = v;
    this.activeCache = null;
    return v;
  }

  private index(s: LiveSystem): void {
    this.ix.add(s);
    this.activeCache = null;
  }
}
