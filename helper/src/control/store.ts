// The last valid network map, kept in the state directory so that a helper restarted while
// the coordinator is down comes back with the same peers and policy. It is stored signed and
// verified again on load, so a tampered file is refused like a tampered map. A map made by a
// delta is stored as its text with the signed delta (delta-apply.ts): the delta's signature
// covers the digest of that text.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonState, writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import type { SignedMap } from '../../../src-shared/wire/control.js';
import type { StoredMap } from '../../../src-shared/lib/netmap/open.js';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';

const FILE = 'netmap.json';

function signedMap(j: unknown): SignedMap | null {
  if (j === null || typeof j !== 'object') return null;
  const { payload, signature } = j as Partial<SignedMap>;
  return typeof payload === 'string' && typeof signature === 'string' ? { payload, signature } : null;
}

/** loadStoredMap returns the stored map, or null if there is none or it is unreadable. */
export function loadStoredMap(stateDir: string): StoredMap | null {
  const j = readJsonState(join(stateDir, FILE), CONTROL_LIMITS.mapBytes * 2) as { delta?: unknown } | null;
  const m = signedMap(j);
  if (m === null || j?.delta === undefined) return m;
  const delta = signedMap(j.delta);
  // A batch-signed delta keeps its proof (map-delta.ts), which openSignedDelta checks on load.
  const batch = (j.delta as { batch?: unknown } | null)?.batch;
  if (delta === null) return null;
  return { ...m, delta: batch === undefined ? delta : ({ ...delta, batch } as SignedMap) };
}

/** storeMap writes the map atomically (temporary file, fsync, rename), mode 0600. */
export function storeMap(stateDir: string, map: StoredMap): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(stateDir, FILE), JSON.stringify(map));
}
