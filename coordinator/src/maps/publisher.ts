// Signed maps per system, kept current. A change to one system can only change its own map and
// its peers' maps (a system appears in another's map exactly when they are peers, netmap.ts),
// so after such a change the next pass recomputes the system, its peers before the change and
// its peers after it; a policy file recomputes everyone, in slices that yield to the event
// loop, each slice's deltas sent when it ends (sweep.ts). Passes are batched (a burst of changes
// makes one pass), and only maps whose content differs from what a system last got are signed
// and pushed. A request that needs a map before the pass (GET map, a watch opening) computes that
// one system's map on the spot; an enrolment instead waits for the pass its own change
// scheduled (settledMap): a new system changes who is whose peer, so its map on the spot would
// cost resolving the policy against every system, once per enrolment, and a burst of
// enrolments then costs one pass, not one World each.
//
// A published map is kept as a digest and a compact basis for deltas (delta.ts), not as text:
// the signed full map is rendered when something needs it (a stream without deltas, a watch
// opening, GET map), and a stream that holds the previous version gets a signed delta instead.
// A system without an open stream costs no signature at all until it asks.
import { createHash } from 'node:crypto';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { mapPayload, MapBuilder, type MapContent, type MapNatFields } from './netmap.js';
import { digestContent, partDigests } from './delta.js';
import type { LiveSystem, Registry } from '../store/registry.js';
import type { SigningKey } from '../auth/signing.js';
import { DeltaBatch } from './delta-batch.js';
import { PeerBook } from './peer-book.js';
import type { Sweep } from './sweep.js';
import { everyonePass } from './everyone-pass.js';
import { MIN_DELAY_MS, PassPacer } from './pass-pacer.js';
import { outgoingOf, renderFull, type FullMap, type Outgoing, type PublishedMap } from './map-frames.js';

export { mapFrame, signedOf, type FullMap, type Outgoing, type PublishedMap } from './map-frames.js';

/** PublisherStats describe the last pass (for logs, /v1/admin/stats and the bench). */
export interface PublisherStats {
  passes: number;
  lastPassMs: number;
  lastComputed: number;
  lastChanged: number;
  lastVersion: number;
}

/** SOFT_DELAY_MS is how long online/offline changes may wait: a fleet coming online at once
 * (a coordinator restart) then costs one pass a second, not one per system. */
export const SOFT_DELAY_MS = 1000;
/** MapPublisher keeps PublishedMaps current and hands changed ones to deliver. */
export class MapPublisher {
  private readonly maps = new Map<string, PublishedMap>();
  private readonly peers = new PeerBook(); // who is whose peer as of the passes
  private readonly dirty = new Set<string>();
  private readonly softDirty = new Set<string>();
  private everything = true;
  private readonly builder: MapBuilder;
  private timer: NodeJS.Timeout | null = null;
  private softTimer: NodeJS.Timeout | null = null;
  private stopped = false;
  /** peerTodo are the peers of changed systems whose maps wait for the peer pass: the changed
   * systems' own maps are computed first (an enrolment is answered with its own), and their
   * peers', the bulk of the work (a shared server lists thousands), are coalesced over a burst
   * into one peer pass, which waits as long as the last one took. */
  private readonly peerTodo = new Set<string>();
  private peerTimer: NodeJS.Timeout | null = null;
  /** Passes wait as long as the last of their kind took (pass-pacer.ts). The system pace is the
   * last pass over changed systems, not a policy file's over everyone (seconds at 10,000, which
   * the next enrolment must not wait for its own map). */
  private readonly peerPace = new PassPacer();
  private readonly systemPace = new PassPacer();
  /** batch collects the pass's batch-signed deltas (delta-batch.ts), sealed when it ends;
   * passDepth tells refresh whether a pass is running. */
  private readonly batch: DeltaBatch;
  private passDepth = 0;
  /** sweep is the pass over every system under way, if any (sweep.ts). */
  private sweep: Sweep<LiveSystem> | null = null;
  /** passWaiters resolve after the next pass (settledMap). */
  private passWaiters: (() => void)[] = [];
  readonly stats: PublisherStats = { passes: 0, lastPassMs: 0, lastComputed: 0, lastChanged: 0, lastVersion: 0 };
  /** onPass, when set, hears how long each pass took (the metrics' histogram). */
  onPass: ((ms: number) => void) | null = null;
  /** onChange, when set, hears of each change but online flags (the watch hub's push figures). */
  onChange: (() => void) | null = null;
  hasStream: (systemId: string) => boolean = () => true; // server.ts: whether the watch hub has one

  constructor(
    private readonly registry: Registry,
    private readonly key: SigningKey,
    private readonly deliver: (s: LiveSystem, m: PublishedMap, out: Outgoing) => void,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
    nat: MapNatFields = {},
  ) {
    this.builder = new MapBuilder(registry, nat);
    this.batch = new DeltaBatch(key);
  }

  /** inPass runs fn as a pass: the deltas it makes are signed together when it ends. */
  private inPass<T>(fn: () => T): T {
    this.passDepth++;
    try {
      return fn();
    } finally {
      if (--this.passDepth === 0) this.batch.seal();
    }
  }

  /** changed records what changed (a system, or null for everything) and schedules a pass; a
   * busy coordinator waits longer so passes never pile up. */
  changed(system: LiveSystem | null, soft = false): void {
    if (this.stopped) return;
    if (soft && system !== null) {
      this.softDirty.add(system.id);
      if (!this.softTimer && !this.timer) {
        this.softTimer = setTimeout(() => {
          this.softTimer = null;
          this.flush(false);
        }, SOFT_DELAY_MS);
      }
      return;
    }
    this.onChange?.();
    if (system === null) {
      // A policy file is rare and everyone waits for it: do not let a slow last pass delay it.
      this.everything = true;
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
    } else {
      this.dirty.add(system.id);
    }
    if (this.timer) return;
    const delay = system === null ? MIN_DELAY_MS : this.systemPace.delay();
    this.timer = setTimeout(() => {
      this.timer = null;
      this.flush(false);
    }, delay);
  }

  /** setCoordinators lists urls in every map from the next pass on (the caller gives the maps a
   * new version first: registry.ts atLeast). */
  setCoordinators(urls: string[]): void {
    this.builder.setCoordinators(urls);
    this.changed(null);
  }

  /** forget drops the system's published map, so the next one is signed anew even when its
   * content is the same (a helper that failed over holds another coordinator's map). */
  forget(systemId: string): void {
    this.maps.delete(systemId);
  }

  /** current returns the system's up-to-date map (null for a system that is not active). */
  current(s: LiveSystem): PublishedMap | null {
    if (s.state !== 'active') return null;
    const m = this.maps.get(s.id);
    if (m && m.builtAt === this.registry.version) return m;
    return this.refresh(s).map;
  }

  /** settledMap waits for the pass a change scheduled, if one is pending, and then returns the
   * system's current map: the pass has resolved the policy against the systems (the World) once
   * for the whole burst, so what is left costs O(the system's own peers). For a request that
   * follows its own change (an enrolment) or may come amid a burst of them (a watch opening). */
  async settledMap(s: LiveSystem): Promise<PublishedMap | null> {
    if (this.timer) await new Promise<void>((resolve) => this.passWaiters.push(resolve));
    return this.current(s);
  }

  /** fullMap renders the system's up-to-date map, signed (null for a system that is not active,
   * or whose map is over the size limit: the log says so). */
  fullMap(s: LiveSystem): FullMap | null {
    if (s.state !== 'active') return null;
    let m = this.maps.get(s.id) ?? null;
    let text: string;
    if (m && m.builtAt === this.registry.version) {
      text = this.builder.content(s).text;
    } else {
      const r = this.refresh(s);
      m = r.map;
      text = r.content.text;
    }
    // Over the size limit, the system keeps a map whose text is gone: nothing to render.
    if (!m || createHash('sha256').update(text, 'utf8').digest('hex') !== m.digest) return null;
    return this.render(m, text);
  }

  private render(m: PublishedMap, text: string): FullMap {
    return renderFull(this.key, m.version, mapPayload(m.version, m.generatedAt, text));
  }

  /** peerIdsOf returns the system ids of s's peers as its current map lists them. */
  peerIdsOf(s: LiveSystem): readonly string[] {
    return this.builder.peerIdsOf(s);
  }

  /** published returns the map last published for a system, without recomputing it. */
  published(systemId: string): PublishedMap | undefined {
    return this.maps.get(systemId);
  }

  /** due: a pass is scheduled, under way in slices, or owed (the map version cannot say it: a
   * catch-up may raise it with no map to change here, registry.ts reload). */
  get due(): boolean {
    const pending = this.timer ?? this.softTimer ?? this.peerTimer ?? this.sweep;
    return pending !== null || this.everything || this.dirty.size + this.softDirty.size + this.peerTodo.size > 0;
  }

  /** flush runs the pending pass now; with peersNow false, the peers of changed systems are
   * left to the peer pass (peerTodo), and a pass over everyone runs in slices (sweep.ts), which
   * flush with peersNow true finishes at once. */
  flush(peersNow = true): void {
    this.inPass(() => this.flushNow(peersNow));
    if (peersNow) this.sweep?.drain();
  }

  private flushNow(peersNow: boolean): void {
    if (this.timer) clearTimeout(this.timer);
    if (this.softTimer) clearTimeout(this.softTimer);
    this.timer = null;
    this.softTimer = null;
    for (const id of this.softDirty) this.dirty.add(id);
    this.softDirty.clear();
    if (this.everything) {
      // Everyone is computed by the sweep, the systems that changed among them.
      this.everything = false;
      this.dirty.clear();
      this.startSweep();
      this.wakeWaiters();
      return;
    }
    this.systemPace.timed(() => this.systemPass(peersNow));
  }

  /** systemPass computes the changed systems' maps, and their peers' now or in the peer pass. */
  private systemPass(peersNow: boolean): void {
    const started = performance.now();
    const version = this.registry.version;
    let computed = 0;
    let changed = 0;
    const run = (s: LiveSystem): void => {
      const r = this.refresh(s);
      this.peers.computed(s.id, r.peerIds);
      computed++;
      if (r.changed) changed++;
    };
    const todo = new Set<string>();
    for (const id of this.dirty) {
      todo.add(id);
      for (const p of this.peers.before(id)) todo.add(p);
      const s = this.registry.get(id);
      if (s && s.state === 'active') {
        // Its peers after the change: computing its map now tells us.
        run(s);
        for (const p of this.peers.listedBy(id)) todo.add(p);
      } else {
        this.maps.delete(id);
        this.peers.delete(id);
      }
    }
    for (const id of this.dirty) {
      todo.delete(id);
      this.peerTodo.delete(id);
    }
    for (const id of todo) this.peerTodo.add(id);
    this.dirty.clear();
    this.wakeWaiters();
    if (peersNow) computed += this.flushPeers(version);
    else this.schedulePeers();
    this.passDone(version, performance.now() - started, computed, changed);
  }

  /** startSweep starts a pass over every active system (everyone-pass.ts), replacing one under
   * way: slice by slice, each slice's deltas signed and handed to their streams when it ends. */
  private startSweep(): void {
    this.sweep?.cancel();
    const version = this.registry.version;
    const active = this.registry.active();
    const live = new Set(active.map((s) => s.id));
    for (const id of this.maps.keys()) if (!live.has(id)) this.maps.delete(id);
    this.peers.keepOnly(live);
    this.peerTodo.clear();
    const sweep: Sweep<LiveSystem> = everyonePass(
      {
        registry: this.registry,
        peers: this.peers,
        hasStream: (id) => this.hasStream(id),
        refresh: (s) => this.refresh(s),
        peerIdsOf: (s) => this.builder.peerIdsOf(s),
        inPass: (run) => this.inPass(run),
        done: (d, changed) => {
          if (this.sweep === sweep) this.sweep = null;
          this.passDone(version, d.wallMs, d.stepped, changed);
          this.log.debug(`maps: the pass over everyone took ${d.busyMs.toFixed(1)} ms in ${d.slices} slices`);
        },
      },
      active,
    );
    this.sweep = sweep;
    sweep.start();
  }

  private passDone(version: number, ms: number, computed: number, changed: number): void {
    this.stats.passes++;
    this.stats.lastPassMs = ms;
    this.stats.lastComputed = computed;
    this.stats.lastChanged = changed;
    this.stats.lastVersion = version;
    this.onPass?.(ms);
    if (computed > 0)
      this.log.debug(`maps: version ${version}, ${changed} of ${computed} computed changed, ${ms.toFixed(1)} ms`);
  }

  private schedulePeers(): void {
    if (this.peerTimer || this.peerTodo.size === 0 || this.stopped) return;
    this.peerTimer = setTimeout(() => {
      this.peerTimer = null;
      const computed = this.peerPace.timed(() => this.inPass(() => this.flushPeers(this.registry.version)));
      this.onPass?.(this.peerPace.last);
      this.log.debug(`maps: peer pass, ${computed} computed, ${this.peerPace.last.toFixed(1)} ms`);
    }, this.peerPace.delay());
  }

  /** flushPeers computes the maps peerTodo waits for and returns how many. */
  private flushPeers(version: number): number {
    if (this.peerTimer) clearTimeout(this.peerTimer);
    this.peerTimer = null;
    let computed = 0;
    for (const id of this.peerTodo) {
      const s = this.registry.get(id);
      if (!s || s.state !== 'active' || !this.hasStream(id)) continue; // no stream: computed when asked
      this.peers.computed(s.id, this.refresh(s).peerIds);
      computed++;
    }
    this.peerTodo.clear();
    this.stats.lastVersion = version;
    return computed;
  }

  private wakeWaiters(): void {
    const waiters = this.passWaiters;
    this.passWaiters = [];
    for (const w of waiters) w();
  }

  /** stop cancels a scheduled pass and schedules no more (shutdown). */
  stop(): void {
    this.stopped = true;
    this.sweep?.cancel();
    this.sweep = null;
    this.wakeWaiters();
    for (const t of [this.peerTimer, this.timer, this.softTimer]) if (t) clearTimeout(t);
    this.peerTimer = this.timer = this.softTimer = null;
  }

  private refresh(s: LiveSystem): {
    map: PublishedMap | null;
    peerIds: string[];
    changed: boolean;
    content: MapContent;
  } {
    const version = this.registry.version;
    const content = this.builder.content(s);
    const { peerIds } = content;
    const before = this.maps.get(s.id);
    const parts = partDigests(content);
    const { digest, prefix, prefixBytes } = digestContent(before, content, parts);
    if (before && before.digest === digest) {
      before.builtAt = version;
      return { map: before, peerIds, changed: false, content };
    }
    const generatedAt = this.now();
    const bytes =
      Buffer.byteLength(mapPayload(version, generatedAt, ''), 'utf8') +
      prefixBytes +
      Buffer.byteLength(content.tail, 'utf8');
    if (bytes > CONTROL_LIMITS.mapBytes) {
      this.log
        .rateLimited(`map-too-big:${s.id}`, 60_000)
        .error(
          `the map of ${s.identity} (${s.name}) has ${bytes} bytes, over the ${CONTROL_LIMITS.mapBytes} limit; it keeps its previous map. Narrow the policies that name it.`,
        );
      return { map: before ?? null, peerIds, changed: false, content };
    }
    const m: PublishedMap = {
      version,
      builtAt: version,
      generatedAt,
      digest,
      bytes,
      identities: content.identities,
      parts,
      prefix,
      prefixBytes,
    };
    this.maps.set(s.id, m);
    const changedAt = (id: string): number => this.builder.peerChangedAt(id);
    const next = { systemId: s.id, version, generatedAt, digest, content, parts, changedAt };
    const full = (): Buffer => this.render(m, content.text).frame;
    this.deliver(s, m, outgoingOf(this.key, this.batch, before, next, bytes, full));
    // Outside a pass (a map computed on request), the batch is this one delta.
    if (this.passDepth === 0) this.batch.seal();
    return { map: m, peerIds, changed: true, content };
  }
}
