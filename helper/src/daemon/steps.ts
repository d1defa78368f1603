// The helper's lifecycle steps, in the order they start (docs/architecture.md, "Lifecycle"):
// the local API, crash recovery, the leftover record, the UDP socket, the adapter, the state
// record, the firewall, the device, exit nodes, DNS, the proxies and, in coordinated mode, NAT
// traversal and the coordinator (steps-control.ts). Each step records what it produced in the DaemonState and
// returns its undo; lifecycle.ts undoes them in reverse.
import { parseIp } from '../../../src-shared/lib/ip/addr.js';
import { parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { Profile } from '../config/schema.js';
import { startApiServer } from '../api/server.js';
import { HelperMetrics } from './metrics.js';
import { PathBind } from '../nat/path-bind.js';
import type { TunConfig } from '../tun/index.js';
import { routeConflictProblem } from '../tun/conflicts.js';
import { openAdapter, takenNote } from '../tun/pick-name.js';
import { Device } from '../wireguard/device/device.js';
import { apiRoutes } from './api-routes.js';
import { devicePeerConfig } from './apply.js';
import { startDns } from './dns-runtime.js';
import type { DaemonEnv } from './env.js';
import { startExitRuntime } from './exit-runtime.js';
import type { Step } from './lifecycle.js';
import { PolicyRuntime } from './policy-runtime.js';
import { startProxies } from './proxy-runtime.js';
import { LeftoverRecorder } from './leftovers.js';
import { warmUpEnabled, warmUpPacketPath } from './warm-up.js';
import { started, type DaemonState } from './state.js';
import { clearState, recoverFromCrash, writeState } from './state-file.js';
import { buildStatus } from './status.js';
import { controlSteps } from './steps-control.js';
import { uapiStep } from './steps-uapi.js';
import { metricsListenStep } from './steps-metrics.js';
import type { ProfileUpdates } from './updates.js';

/** StepContext is what every step works with. profile is the one the helper started with. */
export interface StepContext {
  profile: Profile;
  socketPath: string;
  stateDir: string;
  verbosity: number;
  log: Logger;
  env: DaemonEnv;
  state: DaemonState;
  updates: ProfileUpdates;
  /** metricsListen is where GET /metrics answers without authentication; default: nowhere. */
  metricsListen?: { host: string; port: number };
}

/** daemonSteps lists the steps for this profile, in start order. */
export function daemonSteps(ctx: StepContext): Step[] {
  return [
    apiStep(ctx),
    recoveryStep(ctx),
    leftoverRecordStep(ctx),
    warmUpStep(ctx),
    udpStep(ctx),
    adapterStep(ctx),
    stateRecordStep(ctx),
    ...dataPlaneSteps(ctx),
    exitStep(ctx),
    dnsStep(ctx),
    proxyStep(ctx),
    uapiStep(ctx),
    ...(ctx.profile.coordinator ? controlSteps(ctx, ctx.profile.coordinator) : []),
    metricsListenStep(ctx),
  ];
}

/** tunConfigOf is the adapter a profile asks for: its name, the virtual address, the overlay
 * (routed through the adapter) and the MTU. */
export function tunConfigOf(profile: Profile): TunConfig {
  return {
    name: profile.adapter.name,
    address: parseIPv4(profile.virtualAddress)!,
    network: profile.virtualNetwork,
    mtu: profile.adapter.mtu,
    address6: profile.virtualAddress6 === null ? null : parseIp(profile.virtualAddress6),
    network6: profile.virtualNetwork6,
  };
}

// The API socket is claimed first: it is how a second helper with the same paths is refused
// before it touches the adapter or the UDP port.
function apiStep({ socketPath, log, state, updates }: StepContext): Step {
  return {
    name: 'local API',
    async start() {
      const api = await startApiServer({
        socketPath,
        log,
        getStatus: () => buildStatus(state),
        routes: apiRoutes(state, () => updates.reload(), new HelperMetrics(state)),
        events: state.changes,
      });
      return () => api.close();
    },
  };
}

// Crash recovery undoes what a helper that did not stop cleanly left behind, before this one
// makes the same changes again; it leaves nothing of its own to undo. What it could not undo
// goes on the readable record (leftovers.ts) for `warren status` and the app.
function recoveryStep({ socketPath, stateDir, log, env }: StepContext): Step {
  return {
    name: 'crash recovery',
    async start() {
      try {
        await recoverFromCrash(stateDir, log, env);
        await env.splitDns.recover(stateDir, log);
        await env.exitNode.recover(stateDir, log);
        env.router.recover(stateDir, log);
      } catch (e) {
        new LeftoverRecorder(socketPath, stateDir, log).sync(false);
        throw e;
      }
      return null;
    },
  };
}

// The readable record beside the socket follows the state files from here on: after every step
// (index.ts) and every change. Its undo runs after every later step's, so it records the clean
// stop, or what could not be undone.
function leftoverRecordStep({ socketPath, stateDir, log, state }: StepContext): Step {
  return {
    name: 'leftover record',
    start() {
      const record = new LeftoverRecorder(socketPath, stateDir, log);
      record.sync();
      state.leftovers = record;
      const unsubscribe = state.changes.subscribe(() => record.sync());
      return () => {
        unsubscribe();
        record.sync();
      };
    },
  };
}

// The warm-up (warm-up.ts) runs before the socket, the adapter and the device exist. Objects
// made before it would keep the hidden classes they were born with while the warm-up's own
// objects of the same classes widen some fields (a value of another kind, a field first
// reassigned): V8 then gives the classes new maps and deprecates the old ones, so the code it
// optimized meets the older objects' deprecated maps at the first real packets and is thrown
// away there ("wrong map" deoptimizations at the first ping, seen with --log-deopt).
function warmUpStep({ profile, log }: StepContext): Step {
  return {
    name: 'packet path warm-up',
    async start() {
      if (warmUpEnabled()) await warmUp(profile.adapter.mtu, log);
      return null;
    },
  };
}

// PathBind lets NAT traversal add relayed paths and its own messages on the same socket.
function udpStep({ profile, env, state, log }: StepContext): Step {
  return {
    name: 'UDP socket',
    start() {
      const bind = new PathBind(env.openBind(profile.listenAddress, profile.listenPort, (m) => log.warn(m)));
      state.bind = bind;
      state.listenPort = bind.port;
      return () => bind.close();
    },
  };
}

function adapterStep({ profile, env, state, log }: StepContext): Step {
  return {
    name: 'adapter',
    async start() {
      const { tun, taken } = await openAdapter(env.tun, tunConfigOf(profile), profile.adapter.explicit);
      if (profile.virtualAddress6 !== null && !tun.ipv6)
        log.warn(`IPv6 is turned off on this host: ${tun.name} runs without ${profile.virtualAddress6}, IPv4 only`);
      const note = takenNote(taken, tun.name);
      if (note) log.warn(`adapter: ${note}`);
      const coordinated = profile.coordinator !== null;
      state.adapterProblems = (tun.routeConflicts ?? []).map((c) => routeConflictProblem(c, tun.name, coordinated));
      for (const p of state.adapterProblems) log.warn(`adapter: ${p}`);
      state.tun = tun;
      state.adapter = tun.name;
      state.adapterTaken = taken;
      return () => tun.close();
    },
  };
}

// The state record tells the next start what to clean up if this helper dies without stopping.
function stateRecordStep({ stateDir, state }: StepContext): Step {
  return {
    name: 'state record',
    start() {
      writeState(stateDir, {
        pid: process.pid,
        startedAt: Date.now(),
        adapter: started(state.tun, 'the adapter').name,
        routes: [],
      });
      return () => clearState(stateDir);
    },
  };
}

// The firewall is in place before the device starts, so no packet passes unfiltered; the
// device and its policy become visible in the state together, once the device runs.
function dataPlaneSteps({ profile, log, state }: StepContext): Step[] {
  let device: Device | null = null;
  let policy: PolicyRuntime | null = null;
  return [
    {
      name: 'firewall',
      start() {
        const d = new Device({
          privateKey: profile.privateKey,
          tun: started(state.tun, 'the adapter'),
          bind: started(state.bind, 'the UDP socket'),
          mtu: profile.adapter.mtu,
          log,
        });
        for (const p of profile.peers) d.addPeer(devicePeerConfig(p));
        const pr = new PolicyRuntime(d, profile, log);
        pr.onStatus = () => state.changes.notify();
        pr.start();
        device = d;
        policy = pr;
        return () => pr.stop();
      },
    },
    {
      name: 'device',
      start() {
        const d = started(device, 'the firewall');
        d.start();
        state.device = d;
        state.policy = policy;
        return () => d.stop();
      },
    },
  ];
}

// warmUp runs the packet path in memory before the device starts (warm-up.ts); a failure costs
// only the warm-up: the device then starts cold, as with WARREN_WARM_UP=off.
async function warmUp(mtu: number, log: Logger): Promise<void> {
  try {
    const w = await warmUpPacketPath(mtu);
    log.verbose(`packet path warmed up: ${w.roundTrips} round trips in memory, ${w.ms} ms`);
  } catch (e) {
    log.warn(`packet path warm-up failed, the first packets meet cold code: ${(e as Error).message}`);
  }
}

function exitStep({ profile, stateDir, log, env, state }: StepContext): Step {
  return {
    name: 'exit nodes',
    async start() {
      const device = started(state.device, 'the device');
      const exit = await startExitRuntime({
        profile,
        device,
        adapter: state.adapter,
        stateDir,
        log,
        exitNode: env.exitNode,
        router: env.router,
        // A host with IPv6 turned off runs the adapter without it: no IPv6 route can use it.
        virtualAddress6: state.tun?.ipv6 === false ? null : profile.virtualAddress6,
      });
      state.exit = exit;
      state.tunnel.attach(device, exit);
      return () => exit.close();
    },
  };
}

// DNS is a convenience on top of the tunnel: if it cannot start, the tunnel still runs.
function dnsStep({ profile, stateDir, verbosity, log, env, state }: StepContext): Step {
  return {
    name: 'DNS',
    async start() {
      try {
        const dns = await startDns({
          address: profile.virtualAddress,
          address6: state.tun?.ipv6 === true ? profile.virtualAddress6 : null,
          adapter: state.adapter,
          stateDir,
          policy: started(state.policy, 'the firewall'),
          log,
          verbosity,
          startServer: env.startDnsServer,
          splitDns: env.splitDns,
        });
        state.dns = dns;
        return () => dns.close();
      } catch (e) {
        log.error(`${(e as Error).message}; peers' names will not resolve`);
        return null;
      }
    },
  };
}

function proxyStep({ profile, log, state }: StepContext): Step {
  return {
    name: 'proxies',
    async start() {
      const proxies = await startProxies({ profile, dns: state.dns, log });
      state.proxies = proxies;
      return () => proxies.close();
    },
  };
}
