// reloadProfile re-reads the profile on SIGHUP or POST /v1/reload. Policies, tags and DNS
// names apply at once; a profile with errors is refused whole and the running policy stays.
// Peer changes (keys, endpoints, allowed IPs) still need a restart in this version, and the
// reload says so rather than half-applying them.
import { loadProfile } from '../config/load.js';
import { ProfileError } from '../config/errors.js';
import type { Profile } from '../config/schema.js';
import { formatCidr } from '../config/ipv4.js';
import { formatKey } from '../config/keys.js';

/** ReloadResult says what happened, in words for the person who asked. */
export interface ReloadResult {
  ok: boolean;
  message: string;
  profile: Profile | null;
}

// peerShape is what of the peers a reload cannot change without a restart.
function peerShape(p: Profile): string {
  return JSON.stringify(p.peers.map((x) => [formatKey(x.publicKey), x.allowedIps.map(formatCidr), x.endpoint, x.persistentKeepalive]));
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
  if (formatKey(next.privateKey) !== formatKey(running.privateKey) || next.virtualAddress !== running.virtualAddress ||
      next.listenPort !== running.listenPort || next.adapter.name !== running.adapter.name) {
    notes.push('key, address, port or adapter changes need a restart (warren stop/start)');
  }
  if (peerShape(next) !== peerShape(running)) notes.push('peer key, endpoint and AllowedIPs changes need a restart');
  const sideShape = (p: Profile): string => JSON.stringify([p.exitNode, p.egress, p.ingress]);
  if (sideShape(next) !== sideShape(running)) notes.push('ExitNode, Egress and Ingress changes need a restart');
  const message = `profile reloaded: policies, tags and DNS names applied${notes.length ? `; not applied: ${notes.join('; ')}` : ''}`;
  return { ok: true, message, profile: next };
}
