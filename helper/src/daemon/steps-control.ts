// The coordinated helper's last two steps: NAT traversal (direct paths and relays on the UDP
// socket) and the link to the coordinator, whose network maps become the profile in force.
// They refer to each other: NAT asks the coordinator to have a peer punch or for a relay
// token, and each map tells NAT the peers' candidate endpoints and the relays.
import type { CoordinatorConfig } from '../config/validate-coordinator.js';
import type { Profile } from '../config/schema.js';
import { ControlRuntime } from '../control/runtime.js';
import { profileFromMap, unservedRoutesProblem, withheldFullTunnelProblem } from '../control/netmap.js';
import { NatRuntime } from '../nat/runtime.js';
import { formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { Step } from './lifecycle.js';
import { started } from './state.js';
import type { StepContext } from './steps.js';

/** mapWarnings logs what a map's profile leaves undone, without repeating itself: maps come
 * often, and status keeps saying it. Each exit node's withheld full tunnel is logged once; the
 * unserved exit routes when they change. */
function mapWarnings(ctx: StepContext): (next: Profile) => void {
  const warnedFullTunnel = new Set<string>();
  let warnedUnserved = '';
  return (next) => {
    for (const id of next.exitNode.withheldFullTunnel ?? []) {
      if (warnedFullTunnel.has(id)) continue;
      warnedFullTunnel.add(id);
      ctx.log.warn(withheldFullTunnelProblem(id, ctx.state.profilePath));
    }
    const unserved = (next.exitNode.unserved ?? []).map(formatIpPrefix).join();
    if (unserved !== '' && unserved !== warnedUnserved)
      ctx.log.warn(unservedRoutesProblem(next.exitNode.unserved!, ctx.state.profilePath));
    warnedUnserved = unserved;
  };
}

/** controlSteps are the NAT traversal and coordinator steps for the Coordinator section cc. */
export function controlSteps(ctx: StepContext, cc: CoordinatorConfig): Step[] {
  const { profile: base, state, log } = ctx;
  let control: ControlRuntime | null = null;
  let nat: NatRuntime | null = null;
  const warn = mapWarnings(ctx);
  return [
    {
      name: 'NAT traversal',
      start() {
        const n = new NatRuntime({
          device: started(state.device, 'the device'),
          bind: started(state.bind, 'the UDP socket'),
          privateKey: base.privateKey,
          publicKey: base.publicKey,
          systemId: cc.systemId,
          machineSeed: cc.machineKey,
          coordinatorKey: cc.publicKey,
          log,
          changed: () => state.changes.notify(),
          punch: (identity) => (control ? control.punch(identity) : Promise.resolve()),
          relayToken: (relay) =>
            control ? control.relayToken(relay) : Promise.reject(new Error('not connected to the coordinator yet')),
          discoveryKey: () =>
            control ? control.discoveryKey() : Promise.reject(new Error('not connected to the coordinator yet')),
        });
        n.start();
        nat = n;
        state.nat = n;
        return () => n.stop();
      },
    },
    {
      name: 'coordinator',
      async start() {
        const n = started(nat, 'NAT traversal');
        const bind = started(state.bind, 'the UDP socket');
        const c = new ControlRuntime({
          config: cc,
          publicKey: base.publicKey,
          stateDir: ctx.stateDir,
          adapter: state.adapter,
          listenPort: () => bind.port,
          log,
          apply: async (map) => {
            const next = profileFromMap(base, map);
            await ctx.updates.apply(next);
            warn(next);
            n.onMap(map);
          },
          punched: (from, endpoints) => n.paths.punched(from, endpoints),
          // A revoked system keeps nothing: no peers, no policy grants, no routes.
          revoked: async () => {
            await ctx.updates.apply({
              ...base,
              peers: [],
              policies: [],
              exitNode: { ...base.exitNode, providesRoutes: [], availableRoutes: [] },
            });
            n.forget(); // no probes to former peers, no relay registrations
          },
          changed: () => state.changes.notify(),
        });
        control = c;
        await c.start();
        state.control = c;
        return () => c.stop();
      },
    },
  ];
}
