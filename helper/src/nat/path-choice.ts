// Which of two working direct paths to a peer to use. Within a family the rule is the one paths
// always had: a new path must be clearly faster (BETTER_FACTOR, 30 %) to replace the current
// one, so noise in round trips does not make the endpoint flap.
//
// Between families IPv6 is preferred, in the spirit of RFC 6724 (its default policy table
// ranks native IPv6 above IPv4) and of Happy Eyeballs (RFC 8305), which give IPv6 a head start
// rather than a blind win: an IPv6 path no NAT sits on needs no keepalive to stay open and
// survives the IPv4 mapping changing. So an IPv6 path takes over from an IPv4 one unless it is
// more than 30 % slower (plus 1 ms, the resolution of the round trips measured here), and an
// IPv4 path takes over from an IPv6 one only when it is clearly faster by the same 30 % rule.
// The gap between the two thresholds (1.3x and 1/0.7 ≈ 1.43x) is the hysteresis that keeps two
// paths of similar speed from trading places.
import type { IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { BETTER_FACTOR } from './path-state.js';

/** IPV6_MARGIN: an IPv6 path within this factor of an IPv4 path's round trip is preferred. */
export const IPV6_MARGIN = 1.3;
/** RTT_RESOLUTION_MS: round trips are whole milliseconds, so 0 and 1 ms are the same speed. */
export const RTT_RESOLUTION_MS = 1;

/** ChoicePath is what the choice looks at: the family and the measured round trip (ms). */
export interface ChoicePath {
  addr: IpAddress;
  rtt: number | null;
}

/** replaces tells whether path c, which just answered in rtt ms, should replace cur, the path in
 * use (which is known to work). */
export function replaces(c: ChoicePath, rtt: number, cur: ChoicePath): boolean {
  const curRtt = cur.rtt ?? Infinity;
  if (c.addr.family === 6 && cur.addr.family === 4) return rtt <= curRtt * IPV6_MARGIN + RTT_RESOLUTION_MS;
  if (c.addr.family === 4 && cur.addr.family === 6) return rtt < (curRtt - RTT_RESOLUTION_MS) * BETTER_FACTOR;
  return rtt < curRtt * BETTER_FACTOR;
}
