// What changed in the store since memory last matched it: the systems other coordinators on the
// same database added, changed or removed (registry.ts reload, pg-notify.ts).
import type { LiveSystem } from './registry-types.js';
import { COLUMNS, type SystemPatch, type SystemRow } from './store.js';

/** StoredDiff is the difference between memory and the stored rows. lastSeen alone is no
 * change (every coordinator writes it, soft-writes.ts); it is carried in seen. */
export interface StoredDiff {
  added: SystemRow[];
  changed: { s: LiveSystem; patch: SystemPatch }[];
  removed: LiveSystem[];
  seen: { s: LiveSystem; lastSeen: number }[];
}

/** StoredChanges are the systems rows written and the ids removed since a mark, as far as
 * they are committed (a row may be listed that memory already holds). */
export interface StoredChanges {
  rows: SystemRow[];
  removed: string[];
  /** usersChanged: a user was written since the mark (absent: unknown, read them). */
  usersChanged?: boolean;
  /** mapVersion and policyId (0: none) in force when the changes were read (absent: read them). */
  mapVersion?: number;
  policyId?: number;
}

const FIELDS = (Object.keys(COLUMNS) as (keyof SystemPatch)[]).filter((k) => k !== 'lastSeen');

function same(a: unknown, b: unknown): boolean {
  return Array.isArray(a) && Array.isArray(b) ? JSON.stringify(a) === JSON.stringify(b) : a === b;
}

/** diffStored compares memory with the whole systems table, or with the rows written and the
 * ids removed since a mark (postgres-store.ts systemsChangedSince). */
export function diffStored(
  memory: ReadonlyMap<string, LiveSystem>,
  from: readonly SystemRow[] | StoredChanges,
): StoredDiff {
  const rows = 'rows' in from ? from.rows : from;
  const removedIds = 'rows' in from ? from.removed : undefined;
  const d: StoredDiff = { added: [], changed: [], removed: [], seen: [] };
  const stored = new Set<string>();
  for (const row of rows) {
    stored.add(row.id);
    const s = memory.get(row.id);
    if (!s) {
      d.added.push(row);
      continue;
    }
    const patch: Record<string, unknown> = {};
    for (const k of FIELDS) if (!same(s[k], row[k])) patch[k] = row[k];
    if (Object.keys(patch).length > 0) d.changed.push({ s, patch: patch as SystemPatch });
    if (row.lastSeen !== null && (s.lastSeen === null || row.lastSeen > s.lastSeen))
      d.seen.push({ s, lastSeen: row.lastSeen });
  }
  if (removedIds === undefined) {
    for (const s of memory.values()) if (!stored.has(s.id)) d.removed.push(s);
    return d;
  }
  for (const id of removedIds) {
    const s = memory.get(id);
    if (s && !stored.has(id)) d.removed.push(s);
  }
  return d;
}
