// The registry's types (registry.ts), apart so that its helpers (registry-sync.ts) and the
// rest of the coordinator can name them.
import type { SystemRow } from './store.js';
import type { CountryDb } from '../geoip/geoip.js';

/** LiveSystem is a stored system plus what only lives in memory. */
export interface LiveSystem extends SystemRow {
  /** online: the system has a watch stream open. */
  online: boolean;
  /** offlineSince is when the last watch closed (or the coordinator started). */
  offlineSince: number;
  /** rev grows with every change to this system, so derived data can be cached per rev. */
  rev: number;
  /** observedUdp is "ip:port", where the coordinator's UDP port last saw this system's
   * discovery request come from (discovery.ts): its WireGuard socket's public mapping. Kept in
   * memory only: a NAT mapping lasts minutes, and helpers ask again after any restart. */
  observedUdp: string | null;
}

/** RegistryEvents are what the rest of the coordinator reacts to. */
export interface RegistryEvents {
  /** changed: the map version was bumped. system is the one system the change was about (its
   * map and its peers' maps may change), or null when any map may change (a policy file).
   * soft marks a change only of the online flag, which may reach peers a little later. */
  changed(system: LiveSystem | null, soft?: boolean): void;
  /** revoked: the system was revoked (close its streams). */
  revoked(s: LiveSystem): void;
  /** removed: the system was deleted (ephemeral, offline too long). */
  removed(s: LiveSystem): void;
}

/** RegistryOptions are seams for tests. */
export interface RegistryOptions {
  /** newIdentity draws a candidate identity for a new system: randomIdentity (node:crypto)
   * unless a test replays a sequence. Candidates issued before are skipped whatever it says. */
  newIdentity?: () => string;
  /** countryDb judges PublicIp's Countries and BlockedCountries (serve --geoip); none: unmet. */
  countryDb?: CountryDb | null;
}
