// The last valid network map, kept in the state directory so that a helper restarted while
// the coordinator is down comes back with the same peers and policy. It is stored signed and
// verified again on load, so a tampered file is refused like a tampered map.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readJsonState, writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import type { SignedMap } from '../../../src-shared/wire/control.js';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';

const FILE = 'netmap.json';

/** loadStoredMap returns the stored signed map, or null if there is none or it is unreadable. */
export function loadStoredMap(stateDir: string): SignedMap | null {
  const j = readJsonState(join(stateDir, FILE), CONTROL_LIMITS.mapBytes * 2) as Partial<SignedMap> | null;
  if (j === null || typeof j !== 'object') return null;
  return typeof j.payload === 'string' && typeof j.signature === 'string'
    ? { payload: j.payload, signature: j.signature }
    : null;
}

/** storeMap writes the signed map atomically (temporary file, fsync, rename), mode 0600. */
export function storeMap(stateDir: string, signed: SignedMap): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(stateDir, FILE), JSON.stringify(signed));
}
