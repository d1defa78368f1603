// Finding a system by what an admin or an agent names it by (registry.ts find and lookup).
import type { LiveSystem } from './registry-types.js';

type Systems = ReadonlyMap<string, LiveSystem>;

/** findSystem looks a system up by systemId or identity (any case); live systems (liveByIdentity)
 * win over revoked, and among revoked ones the newest. */
export function findSystem(systems: Systems, liveByIdentity: Systems, ref: string): LiveSystem | undefined {
  const byId = systems.get(ref);
  if (byId) return byId;
  const upper = ref.toUpperCase();
  const live = liveByIdentity.get(upper);
  if (live) return live;
  let found: LiveSystem | undefined;
  for (const s of systems.values()) if (s.identity === upper && (!found || s.createdAt > found.createdAt)) found = s;
  return found;
}

/** lookupSystem finds the system an admin names by systemId, identity (any case) or name (any
 * case; names are unique among live systems, names.ts uniqueName). It returns every candidate
 * when the reference is ambiguous (one system's identity and another's name, or several
 * revoked systems that had the name), and an empty list when nothing matches. Live systems win
 * over revoked ones, as in findSystem. */
export function lookupSystem(systems: Systems, liveByIdentity: Systems, ref: string): LiveSystem | LiveSystem[] {
  const byId = systems.get(ref);
  if (byId) return byId;
  const upper = ref.toUpperCase();
  const lower = ref.toLowerCase();
  const live = new Set<LiveSystem>();
  const liveById = liveByIdentity.get(upper);
  if (liveById) live.add(liveById);
  for (const s of systems.values()) if (s.state !== 'revoked' && s.name === lower) live.add(s);
  if (live.size > 0) return live.size === 1 ? [...live][0]! : [...live];
  const revokedById = findSystem(systems, liveByIdentity, ref);
  if (revokedById) return revokedById;
  const named = [...systems.values()].filter((s) => s.name === lower);
  return named.length === 1 ? named[0]! : named;
}
