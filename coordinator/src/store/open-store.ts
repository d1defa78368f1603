// Which Store the coordinator runs on: SQLite in the data directory (the default), or
// PostgreSQL when `serve --store postgres://...` names a database (docs/coordinator.md).
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILES } from './data-dir.js';
import { PostgresStore } from './postgres-store.js';
import { SqliteStore } from './sqlite-store.js';
import type { Store } from './store.js';

/** STORE_URL_MAX bounds the --store text. */
const STORE_URL_MAX = 2048;

/** storeUrlProblem says what is wrong with a --store value, or null when it is usable. */
export function storeUrlProblem(text: string): string | null {
  if (text.length > STORE_URL_MAX) return `is longer than ${STORE_URL_MAX} characters`;
  let u: URL;
  try {
    u = new URL(text);
  } catch {
    return 'is not a URL; give postgres://USER[:PASSWORD]@HOST:PORT/DATABASE';
  }
  if (u.protocol !== 'postgres:' && u.protocol !== 'postgresql:')
    return `has the scheme ${u.protocol.slice(0, 20)}; only postgres:// is known (leave --store out for SQLite in --data DIR)`;
  if (u.pathname.length < 2) return 'names no database; give postgres://USER@HOST:PORT/DATABASE';
  return null;
}

/** openStore opens PostgreSQL at url, or else the SQLite database in dataDir, keeping its
 * files (the WAL and shared memory too) owner-only. */
export function openStore(dataDir: string, url?: string): Store {
  if (url !== undefined) return new PostgresStore(url);
  const dbFile = join(dataDir, DATA_FILES.db);
  const store = new SqliteStore(dbFile);
  for (const f of [dbFile, `${dbFile}-wal`, `${dbFile}-shm`]) if (existsSync(f)) chmodSync(f, 0o600);
  return store;
}
