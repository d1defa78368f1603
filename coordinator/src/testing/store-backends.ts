// The store's backends for tests that run against each: SQLite in a temporary file and
// PostgreSQL in a throwaway cluster (postgres.ts), started once per test process and only when
// a test asks for it. A test file loops over storeBackends() and names the backend in each
// test's title; the PostgreSQL half skips, with the reason, where PostgreSQL is missing.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PgBridge } from '../store/pg-bridge.js';
import { PostgresStore } from '../store/postgres-store.js';
import { SqliteStore } from '../store/sqlite-store.js';
import type { Store } from '../store/store.js';
import { postgresUnavailable, startPostgres, type PgCluster } from './postgres.js';

/** StoreHandle is one empty database: open it (again) as a Store, or run raw SQL on it. */
export interface StoreHandle {
  open(): Store;
  /** sql runs one raw statement outside the Store, as another writer would. */
  sql(text: string): void;
  /** where is the database's file (SQLite) or URL (PostgreSQL), for a worker thread that opens
   * it as a second coordinator would (openStoreAt). */
  where: string;
  dispose(): void;
}

/** openStoreAt opens the database of a handle's where, from any thread. */
export function openStoreAt(backend: Backend['name'], where: string): Store {
  return backend === 'sqlite' ? new SqliteStore(where) : new PostgresStore(where);
}

/** Backend is one store implementation. */
export interface Backend {
  name: 'sqlite' | 'postgres';
  /** skip is the reason this backend cannot run here, or false. */
  skip: string | false;
  fresh(): StoreHandle;
  /** uniqueOn matches the backend's message for a unique constraint on table.column. */
  uniqueOn(table: string, column: string): RegExp;
}

// /dev/shm where there is one: the registry's 10,000-system test writes 10,000 transactions,
// each synced to disk under synchronous=FULL, and should measure identity issuing instead.
const BASE = existsSync('/dev/shm') ? '/dev/shm' : tmpdir();

const sqlite: Backend = {
  name: 'sqlite',
  skip: false,
  fresh() {
    const dir = mkdtempSync(join(BASE, 'warren-store-'));
    const file = join(dir, 'c.db');
    return {
      open: () => new SqliteStore(file),
      where: file,
      sql(text) {
        const db = new Database(file);
        try {
          db.exec(text);
        } finally {
          db.close();
        }
      },
      dispose: () => rmSync(dir, { recursive: true, force: true }),
    };
  },
  uniqueOn: (table, column) => new RegExp(`UNIQUE constraint failed: ${table}\\.(?:${column})\\b`),
};

let cluster: PgCluster | null = null;
let databases = 0;

const postgres: Backend = {
  name: 'postgres',
  skip: postgresUnavailable() ?? false,
  fresh() {
    cluster ??= startPostgres();
    const url = cluster.createDatabase(`warren_test_${process.pid}_${++databases}`);
    const opened: Store[] = [];
    return {
      where: url,
      open() {
        const s = new PostgresStore(url);
        opened.push(s);
        return s;
      },
      sql(text) {
        const db = new PgBridge(url);
        try {
          db.query(text);
        } finally {
          db.close();
        }
      },
      // The database goes with the cluster; only connections a test left open are closed here.
      dispose: () => opened.forEach((s) => s.close()),
    };
  },
  // PostgreSQL names the constraint: "systems_address" (an index), "systems_wg_key_key" (a
  // column's UNIQUE), "issued_identities_identity" (a named key).
  uniqueOn: (table, column) => new RegExp(`unique constraint "${table}_(?:${column})(_key)?"`),
};

/** storeBackends lists both backends; say() prints why PostgreSQL is skipped, once. */
export function storeBackends(say: (line: string) => void = (l) => console.log(l)): Backend[] {
  if (postgres.skip) say(`# the PostgreSQL half of this suite is skipped: ${postgres.skip}`);
  return [sqlite, postgres];
}

/** withHandle gives fn a fresh database of b and removes it after, even on failure. */
export function withHandle<T>(b: Backend, fn: (h: StoreHandle) => T): T {
  const h = b.fresh();
  try {
    return fn(h);
  } finally {
    h.dispose();
  }
}

/** onTwoPostgresStores runs fn with two stores on one fresh PostgreSQL database, as two
 * coordinators hold theirs, and closes both and removes the database after, even when fn
 * throws. */
export async function onTwoPostgresStores(
  fn: (store: PostgresStore, other: PostgresStore) => Promise<void> | void,
): Promise<void> {
  const h = postgres.fresh();
  const store = h.open() as PostgresStore;
  const other = h.open() as PostgresStore;
  try {
    await fn(store, other);
  } finally {
    other.close();
    store.close();
    h.dispose();
  }
}

/** stopPostgres stops the shared cluster (call it from after()). */
export function stopPostgres(): void {
  cluster?.stop();
  cluster = null;
}
