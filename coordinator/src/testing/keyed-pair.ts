// Two coordinators on one PostgreSQL database, ready to enrol: the set-up the group-commit and
// COMMIT-check tests share (store/registry-batch.test.ts, store/pg-commit.test.ts).
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { Registry } from '../store/registry.js';
import type { PostgresStore } from '../store/postgres-store.js';
import type { Store } from '../store/store.js';
import { addEnrolKey } from './rows.js';
import { onTwoPostgresStores } from './store-backends.js';

/** quietRegistry is a registry on store over network (a /26 by default: small enough that
 * address clashes between two coordinators are quick to provoke) whose events go nowhere. */
export function quietRegistry(store: Store, network = '100.64.0.0/26'): Registry {
  const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
  return new Registry(store, parseCidr(network)!, 'warren.internal', events, 0);
}

/** KeyedPair is two stores on one fresh database (two coordinators), a registry on the first,
 * an enrolment key added through the first, and when the test began. */
export interface KeyedPair {
  store: PostgresStore;
  other: PostgresStore;
  r: Registry;
  k: { key: string; id: string };
  now: number;
}

/** onKeyedPostgresPair runs fn on a KeyedPair whose key allows `uses` enrolments. */
export function onKeyedPostgresPair(uses: number, fn: (p: KeyedPair) => Promise<void> | void): Promise<void> {
  return onTwoPostgresStores(async (store, other) => {
    const k = addEnrolKey(store, uses);
    await fn({ store, other, r: quietRegistry(store), k, now: Date.now() });
  });
}
