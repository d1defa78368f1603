// reloadProfile re-reads the profile on SIGHUP or POST /v1/reload. Peers, policies, tags, DNS
// names and exit-node routes apply at once (daemon/apply.ts); a profile with errors is refused
// whole and the running one stays. What cannot change without a restart (keys, address, port,
// adapter, proxies) is named in the answer rather than half-applied.
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { loadProfile } from '../config/load.js';
import { ProfileError } from '../../../src-shared/lib/errors.js';
import type { Profile } from '../config/schema.js';
import { formatKey } from '../../../src-shared/lib/keys.js';

/** ReloadResult says what happened, in words for the person who asked. */
export interface ReloadResult {
  ok: boolean;
  message: string;
  profile: Profile | null;
}

/** reloadProfile loads path and compares it with the running profile. */
export function reloadProfile(path: string, running: Profile): ReloadResult {
  let next: Profile;
  try {
    next = loadProfile(path);
  } catch (e) {
    const why = e instanceof ProfileError ? e.message : `cannot read ${path}: ${(e as Error).message}`;
    return { ok: false, message: `reload refused, the running policy stays in force:\n${why}`, profile: null };
  }
  const notes: string[] = [];
  if (
    formatKey(next.privateKey) !== formatKey(running.privateKey) ||
    next.virtualAddress !== running.virtualAddress ||
    next.virtualAddress6 !== running.virtualAddress6 ||
    String(next.virtualNetwork6 && formatIpPrefix(next.virtualNetwork6)) !==
      String(running.virtualNetwork6 && formatIpPrefix(running.virtualNetwork6)) ||
    next.listenPort !== running.listenPort ||
    next.adapter.name !== running.adapter.name
  ) {
    notes.push('key, address, port or adapter changes need a restart (warren stop/start)');
  }
  const sideShape = (p: Profile): string => JSON.stringify([p.egress, p.ingress]);
  if (sideShape(next) !== sideShape(running)) notes.push('Egress and Ingress changes need a restart');
  const message = `profile reloaded: peers, policies, tags, DNS names and exit routes applied${notes.length ? `; not applied: ${notes.join('; ')}` : ''}`;
  return { ok: true, message, profile: next };
}
