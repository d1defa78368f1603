// The words for an overlay route another program holds (tun-linux.ts addOverlayRoute leaves it
// alone). The helper keeps running, as Tailscale does beside another VPN: the adapter, its
// address and every route it could add stay up, and `warren status` says which route is
// missing, who holds it and how to resolve it, instead of a failed start with
// "RTNETLINK answers: File exists".
import type { RouteConflict } from './index.js';

/** routeConflictProblem is the status problem for one conflict; coordinated says the overlay
 * range comes from the coordinator (its --network) rather than the profile's VirtualNetwork. */
export function routeConflictProblem(c: RouteConflict, adapter: string, coordinated: boolean): string {
  const holder = c.device === null ? 'another route (not through a device)' : `${c.device}`;
  const v6 = c.prefix.includes(':');
  const del = `ip ${v6 ? '-6 ' : ''}route del ${c.prefix}${c.device === null ? '' : ` dev ${c.device}`}`;
  const change = coordinated
    ? `ask the coordinator's admin for another range (the coordinator sets the network${v6 ? '' : ': serve --network'})`
    : `set another ${v6 ? 'VirtualNetwork6' : 'VirtualNetwork'} in the profile`;
  return (
    `the overlay route ${c.prefix} is held by another program's route via ${holder} (another VPN?), ` +
    `so this helper runs without it: traffic to peers in ${c.prefix} follows that route, not ${adapter}. ` +
    `Stop the other VPN (or remove its route: \`${del}\`), or ${change}; then restart the helper ` +
    '(`sudo warren stop`, `sudo warren start`).'
  );
}
