// Several coordinators on one PostgreSQL database (docs/coordinator.md "Several coordinators"):
// each follows the others' changes (store/pg-notify.ts), says every HEARTBEAT_MS that it is
// alive at its advertised URL, and lists the URLs of every coordinator alive within
// LISTED_FOR_MS in the maps it signs, so helpers can fail over (helper/src/control/failover.ts).
import type { Logger } from '../../../src-shared/lib/log.js';
import type { MapPublisher } from '../maps/publisher.js';
import { catchUp, ChangeFollower, ChangeListener } from '../store/pg-notify.js';
import { PostgresStore } from '../store/postgres-store.js';
import type { Registry } from '../store/registry.js';
import type { StoredChanges } from '../store/registry-sync.js';

/** HEARTBEAT_MS is how often a coordinator records that it is alive and re-reads the list. */
export const HEARTBEAT_MS = 5000;
/** LISTED_FOR_MS keeps a coordinator in the maps' list this long after its last heartbeat: a
 * restart or an outage does not churn every map, and a helper trying a dead one moves on. */
export const LISTED_FOR_MS = 60 * 60 * 1000;
/** SEEN_EVERY_MS is how often a coordinator writes last_seen of the systems watching it, at
 * most: another coordinator must not take an ephemeral system online here for one gone. */
export const SEEN_EVERY_MS = 60_000;

/** MultiDeps are the running coordinator's parts that follow the database. */
export interface MultiDeps {
  store: PostgresStore;
  /** storeUrl is the database's URL (the LISTEN connection is one of its own). */
  storeUrl: string;
  registry: Registry;
  publisher: MapPublisher;
  /** advertiseUrl is where helpers reach this coordinator, or null to list none. */
  advertiseUrl: string | null;
  /** seenEveryMs is how often last_seen of the systems watching here is written. */
  seenEveryMs: number;
  log: Logger;
  now: () => number;
}

/** Multi is the running follower; close stops it. */
export interface Multi {
  /** sync looks for other coordinators' changes now (tests, and the catch-up tick). */
  sync(): boolean;
  close(): Promise<void>;
}

/** startMulti starts following the database. */
export async function startMulti(d: MultiDeps): Promise<Multi> {
  const reload = (changes?: StoredChanges): void => catchUp(d.registry, d.now(), changes);
  const follower = new ChangeFollower(d.store, reload, d.now);
  // What others committed between the registry's load and the follower's first look.
  reload();
  const sync = (): boolean => {
    try {
      return follower.sync();
    } catch (e) {
      d.log.rateLimited('multi-sync', 30_000).error(`cannot read other coordinators' changes: ${(e as Error).message}`);
      return false;
    }
  };
  const listener = new ChangeListener(d.storeUrl, sync, d.log);
  await listener.start();
  let listed = '';
  let seenAt = d.now();
  const beat = (): void => {
    try {
      const now = d.now();
      if (d.advertiseUrl !== null) d.store.heartbeat(d.advertiseUrl, now);
      if (now - seenAt >= d.seenEveryMs) {
        seenAt = now;
        d.store.noteLastSeen(d.registry.all().flatMap((s) => (s.online ? [[s.id, now] as const] : [])));
      }
      const urls = d.store.coordinators(now - LISTED_FOR_MS);
      if (JSON.stringify(urls) === listed) return;
      listed = JSON.stringify(urls);
      // Every map changes: one version past every map sent so far, then the pass.
      d.registry.atLeast(d.registry.version);
      d.publisher.setCoordinators(urls);
      d.log.info(`coordinators on this database: ${urls.join(' ') || '(none advertised)'}`);
    } catch (e) {
      d.log.rateLimited('multi-heartbeat', 30_000).error(`cannot record the heartbeat: ${(e as Error).message}`);
    }
  };
  beat();
  const timer = setInterval(beat, Math.min(HEARTBEAT_MS, d.seenEveryMs));
  timer.unref();
  return {
    sync,
    async close() {
      clearInterval(timer);
      await listener.stop();
    },
  };
}
