// The network's IPv6 prefix and each system's IPv6 address in it.
//
// The prefix is an RFC 4193 unique local /48 (fd00::/8 and a random 40-bit Global ID, §3.2),
// drawn once, the first time a coordinator opens a data directory without one (a new directory,
// or one made before the IPv6 overlay), and stored in the meta table as `network6`. It never
// changes afterwards: every enrolled system's address depends on it.
//
// A system's IPv6 address is derived, not allocated: subnet ID 0 of the /48 (RFC 4291 §2.5.4,
// a /64), with the system's IPv4 address as the low 32 bits of the interface ID, so
// 100.64.0.1 in fd12:3456:789a::/48 is fd12:3456:789a::6440:1. Why derived:
// - Collisions are impossible by construction: the map from IPv4 to IPv6 is one-to-one, and the
//   store already guarantees that no two live systems share an IPv4 address (a unique index).
// - It never changes for the life of an enrolment, because the IPv4 address does not, and a
//   restart, a re-map or an upgrade cannot change it: there is no second allocation to get wrong
//   and nothing more to store or migrate per system.
// - An admin reads one address from the other. The cost is the IPv4 address's: it is freed when
//   the system is revoked or removed and may then be reused, exactly as the IPv4 one is.
// The interface ID is never zero (the IPv4 network address is never allocated), so no system
// gets the Subnet-Router anycast address (RFC 4291 §2.6.1).
import {
  formatIp,
  formatIpPrefix,
  parseIpPrefix,
  type IpAddress,
  type IpPrefix,
} from '../../../src-shared/lib/ip/addr.js';
import { addressInPrefix, randomUlaPrefix } from '../../../src-shared/lib/ip/ula.js';
import type { Store } from './store.js';

/** NETWORK6_META is the meta table key the prefix is stored under. */
export const NETWORK6_META = 'network6';

/** isUla48 tells whether p is a canonical fdXX:XXXX:XXXX::/48 (RFC 4193 §3.1 with L = 1). */
export function isUla48(p: IpPrefix): boolean {
  if (p.addr.family !== 6 || p.bits !== 48) return false;
  const { w0, w1, w2, w3 } = p.addr;
  return w0 >>> 24 === 0xfd && (w1 & 0xffff) === 0 && w2 === 0 && w3 === 0;
}

/** ensureNetwork6 returns the stored prefix, drawing and storing one first if there is none.
 * created says it was drawn now. A stored value that is not a ULA /48 is refused rather than
 * replaced: replacing it would change every system's address. */
export function ensureNetwork6(
  store: Store,
  draw: () => IpPrefix = randomUlaPrefix,
): {
  prefix: IpPrefix;
  created: boolean;
} {
  return store.transaction(() => {
    const stored = store.getMeta(NETWORK6_META);
    if (stored !== null) {
      const p = parseIpPrefix(stored);
      if (p === null || !isUla48(p))
        throw new Error(
          `the data dir's IPv6 network (meta ${NETWORK6_META}) is ${JSON.stringify(stored.slice(0, 64))}, not a unique local /48; restore it from a backup`,
        );
      return { prefix: p, created: false };
    }
    const prefix = draw();
    if (!isUla48(prefix)) throw new Error(`drew ${formatIpPrefix(prefix)}, not a unique local /48`);
    // Two coordinators starting together on one empty PostgreSQL database: the first one's stands.
    const kept = store.claimMeta(NETWORK6_META, formatIpPrefix(prefix));
    if (kept !== formatIpPrefix(prefix)) {
      const theirs = parseIpPrefix(kept);
      if (theirs === null || !isUla48(theirs)) throw new Error(`the database's IPv6 network ${kept} is not a ULA /48`);
      return { prefix: theirs, created: false };
    }
    return { prefix, created: true };
  });
}

/** systemAddress6 is the IPv6 address of the system with IPv4 address v4 (see the file comment). */
export function systemAddress6(network6: IpPrefix, v4: number): IpAddress {
  return addressInPrefix(network6, BigInt(v4 >>> 0))!;
}

/** formatSystemAddress6 is systemAddress6 in text (RFC 5952). */
export function formatSystemAddress6(network6: IpPrefix, v4: number): string {
  return formatIp(systemAddress6(network6, v4));
}
