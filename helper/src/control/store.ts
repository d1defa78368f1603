// The last valid network map, kept in the state directory so that a helper restarted while
// the coordinator is down comes back with the same peers and policy. It is stored signed and
// verified again on load, so a tampered file is refused like a tampered map.
import { readFileSync, renameSync, writeFileSync, mkdirSync, openSync, fsyncSync, closeSync } from 'node:fs';
import { join } from 'node:path';
import type { SignedMap } from '../../../src-shared/wire/control.js';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';

const FILE = 'netmap.json';

/** loadStoredMap returns the stored signed map, or null if there is none or it is unreadable. */
export function loadStoredMap(stateDir: string): SignedMap | null {
  try {
    const text = readFileSync(join(stateDir, FILE), 'utf8');
    if (text.length > CONTROL_LIMITS.mapBytes * 2) return null;
    const j = JSON.parse(text) as Partial<SignedMap>;
    return typeof j.payload === 'string' && typeof j.signature === 'string' ? { payload: j.payload, signature: j.signature } : null;
  } catch {
    return null;
  }
}

/** storeMap writes the signed map atomically (temporary file, fsync, rename), mode 0600. */
export function storeMap(stateDir: string, signed: SignedMap): void {
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const tmp = join(stateDir, `.${FILE}.${process.pid}.tmp`);
  writeFileSync(tmp, JSON.stringify(signed), { mode: 0o600 });
  const fd = openSync(tmp, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, join(stateDir, FILE));
}
