// Which address family to try first for the coordinator's discovery port and relays when a
// dual-stack coordinator names both (control.ts NetworkMap discovery6, RelayInfo udp6/tcp6):
// the family this machine has a default route for. Only a first guess: the discovery client
// falls over to the other endpoint when the first goes unanswered.
import { readFileSync } from 'node:fs';

/** RTF_REJECT (linux/route.h): an "unreachable" route, e.g. the kernel's default on lo. */
const RTF_REJECT = 0x0200;
const MAX_LINES = 4096;

/** parseDefaultRoutes reads /proc/net/route and /proc/net/ipv6_route (either may be empty) and
 * tells which families have a usable default route; lines that do not parse are skipped. */
export function parseDefaultRoutes(route4: string, route6: string): { v4: boolean; v6: boolean } {
  // /proc/net/route: Iface Destination Gateway Flags RefCnt Use Metric Mask ... (hex, header first).
  const v4 = route4
    .split('\n')
    .slice(1, MAX_LINES)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      return f.length >= 8 && f[0] !== 'lo' && f[1] === '00000000' && f[7] === '00000000';
    });
  // /proc/net/ipv6_route: dest plen src plen nexthop metric refcnt use flags iface (hex, no header).
  const v6 = route6
    .split('\n')
    .slice(0, MAX_LINES)
    .some((line) => {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || !/^0{32}$/.test(f[0]!) || f[1] !== '00' || f[9] === 'lo') return false;
      return /^[0-9a-f]{1,8}$/i.test(f[8]!) && (parseInt(f[8]!, 16) & RTF_REJECT) === 0;
    });
  return { v4, v6 };
}

function read(path: string): string {
  try {
    return readFileSync(path, 'utf8').slice(0, 1 << 20);
  } catch {
    return '';
  }
}

/** preferredFamily: 4 with an IPv4 default route, else 6 with an IPv6 one, else 4 (the map's order). */
export function preferredFamily(): 4 | 6 {
  const r = parseDefaultRoutes(read('/proc/net/route'), read('/proc/net/ipv6_route'));
  return !r.v4 && r.v6 ? 6 : 4;
}

/** byFamily orders endpoints ("a.b.c.d:port" / "[v6]:port") with the given family's first,
 * keeping the order within each family. */
export function byFamily(endpoints: readonly string[], family: 4 | 6): string[] {
  const six = (e: string) => e.startsWith('[');
  const first = endpoints.filter((e) => six(e) === (family === 6));
  return [...first, ...endpoints.filter((e) => six(e) !== (family === 6))];
}
