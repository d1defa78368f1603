// runDaemon: the helper's main job. It brings the data plane up in an order where every step
// can be undone (socket, adapter, state file, device, local API), runs until SIGTERM/SIGINT, and
// takes everything down again. If a step fails, the steps before it are undone, so the machine
// is never left half-configured.
import { parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import type { Profile } from '../config/schema.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { openTun, type TunAdapter } from '../tun/index.js';
import { openNativeBind } from '../wireguard/device/bind.js';
import { PathBind } from '../nat/path-bind.js';
import { NatRuntime } from '../nat/runtime.js';
import { Device } from '../wireguard/device/device.js';
import { ApiHttpError, startApiServer } from '../api/server.js';
import { apiRoutes } from './api-routes.js';
import { PolicyRuntime } from './policy-runtime.js';
import { reloadProfile } from './reload.js';
import { startDns, type DnsRuntime } from './dns-runtime.js';
import { recoverSplitDns } from '../dns/split/index.js';
import { recoverExitNode } from '../exitnode/index.js';
import { recoverFullTunnel } from '../router/full-tunnel.js';
import { startExitRuntime, type ExitRuntime } from './exit-runtime.js';
import { startProxies, type ProxyRuntime } from './proxy-runtime.js';
import { recoverFromCrash, writeState, clearState } from './state-file.js';
import { buildStatus } from './status.js';
import { applyProfile, devicePeerConfig } from './apply.js';
import { ChangeNotifier } from './changes.js';
import { TunnelControl } from './tunnel.js';
import { ControlRuntime } from '../control/runtime.js';
import { profileFromMap } from '../control/netmap.js';

/** DaemonOptions is what `warren run` hands to the daemon. */
export interface DaemonOptions {
  profilePath: string;
  profile: Profile;
  socketPath: string;
  stateDir: string;
  verbosity: number;
  log: Logger;
}

/** runDaemon runs the helper until it is asked to stop; it resolves after a clean stop. */
export async function runDaemon(opts: DaemonOptions): Promise<void> {
  const { profile, log } = opts;
  let reloadHook: () => void = () => log.info('SIGHUP: the helper is still starting; try again');
  const undo: Array<() => void | Promise<void>> = [];
  const teardown = async (): Promise<void> => {
    while (undo.length > 0) {
      const step = undo.pop()!;
      try {
        await step();
      } catch (e) {
        log.error(`cleanup step failed: ${(e as Error).message}`);
      }
    }
  };

  // Signals are caught from the start, so a stop request during setup still tears down.
  const stopped = waitForStopSignal(log, teardown, () => reloadHook());
  try {
    // The API socket is claimed first: it is how a second helper with the same paths is
    // refused before it touches the adapter or the UDP port.
    const changes = new ChangeNotifier();
    const tunnel = new TunnelControl(changes, log);
    const status = {
      profile, device: null as Device | null, policy: null as PolicyRuntime | null, dns: null as DnsRuntime | null,
      exit: null as ExitRuntime | null, proxies: null as ProxyRuntime | null, control: null as ControlRuntime | null, nat: null as NatRuntime | null,
      tunnel, profilePath: opts.profilePath, stateDir: opts.stateDir, adapter: profile.adapter.name, listenPort: profile.listenPort, startedAt: Date.now(), ready: false,
    };
    // Profile changes (reloads, network maps) are applied one at a time, in order.
    let applying: Promise<unknown> = Promise.resolve();
    const applyNext = (next: typeof profile): Promise<void> => {
      const run = applying.then(async () => {
        if (status.device === null || status.policy === null) throw new ApiHttpError(503, 'unavailable', 'the helper is still starting');
        await applyProfile({ device: status.device, policy: status.policy, exit: status.exit, log }, status.profile, next);
        status.profile = next;
        changes.notify();
      });
      applying = run.catch(() => undefined);
      return run;
    };
    const reload = async (): Promise<string> => {
      if (status.policy === null) throw new ApiHttpError(503, 'unavailable', 'the helper is still starting');
      if (status.profile.coordinator) {
        throw new ApiHttpError(409, 'bad-request', 'this helper is coordinated: peers and policies come from the coordinator; ' +
          'restart the helper to apply changes to the local profile');
      }
      const r = reloadProfile(opts.profilePath, status.profile);
      if (r.profile) await applyNext(r.profile);
      (r.ok ? log.info : log.error)(r.message);
      if (!r.ok) throw new ApiHttpError(422, 'bad-request', r.message);
      return r.message;
    };
    reloadHook = () => {
      reload().catch(() => undefined); // already logged
    };
    const routes = apiRoutes(status, reload);
    const api = await startApiServer({
      socketPath: opts.socketPath, log, getStatus: () => buildStatus(status), routes, events: changes,
    });
    undo.push(() => api.close());

    await recoverFromCrash(opts.stateDir, log);
    await recoverSplitDns(opts.stateDir, log);
    await recoverExitNode(opts.stateDir, log);
    recoverFullTunnel(opts.stateDir, log);

    // PathBind lets NAT traversal add relayed paths and its own messages on the same socket.
    const bind = new PathBind(openNativeBind(profile.listenAddress, profile.listenPort));
    undo.push(() => bind.close());
    status.listenPort = bind.port;

    const tun: TunAdapter = await openTun({
      name: profile.adapter.name,
      address: parseIPv4(profile.virtualAddress)!,
      network: profile.virtualNetwork,
      mtu: profile.adapter.mtu,
    });
    undo.push(() => tun.close());
    writeState(opts.stateDir, { pid: process.pid, startedAt: Date.now(), adapter: tun.name, routes: [] });
    undo.push(() => clearState(opts.stateDir));

    const device = new Device({ privateKey: profile.privateKey, tun, bind, mtu: profile.adapter.mtu, log });
    for (const p of profile.peers) device.addPeer(devicePeerConfig(p));
    const policy = new PolicyRuntime(device, profile, log);
    policy.onStatus = () => changes.notify();
    policy.start();
    undo.push(() => policy.stop());
    device.start();
    undo.push(() => device.stop());
    Object.assign(status, { device, policy, adapter: tun.name });

    const exit = await startExitRuntime({ profile, device, adapter: tun.name, stateDir: opts.stateDir, log });
    undo.push(() => exit.close());
    Object.assign(status, { exit });
    tunnel.attach(device, exit);

    // DNS is a convenience on top of the tunnel: if it cannot start, the tunnel still runs.
    try {
      const dns = await startDns({
        address: profile.virtualAddress, adapter: tun.name, stateDir: opts.stateDir, policy, log, verbosity: opts.verbosity,
      });
      undo.push(() => dns.close());
      Object.assign(status, { dns });
    } catch (e) {
      log.error(`${(e as Error).message}; peers' names will not resolve`);
    }

    const proxies = await startProxies({ profile, dns: status.dns, log });
    undo.push(() => proxies.close());
    Object.assign(status, { proxies });

    if (profile.coordinator) {
      const base = profile;
      const cc = profile.coordinator;
      let control: ControlRuntime | null = null;
      const nat = new NatRuntime({
        device, bind, privateKey: profile.privateKey, publicKey: profile.publicKey, systemId: cc.systemId,
        machineSeed: cc.machineKey, coordinatorKey: cc.publicKey, log, changed: () => changes.notify(),
        punch: (identity) => control ? control.punch(identity) : Promise.resolve(),
        relayToken: () => control ? control.relayToken() : Promise.reject(new Error('not connected to the coordinator yet')),
      });
      nat.start();
      undo.push(() => nat.stop());
      Object.assign(status, { nat });
      control = new ControlRuntime({
        config: profile.coordinator, stateDir: opts.stateDir, adapter: tun.name, listenPort: () => bind.port, log,
        apply: async (map) => {
          await applyNext(profileFromMap(base, map));
          nat.onMap(map);
        },
        punched: (from, endpoints) => nat.paths.punched(from, endpoints),
        // A revoked system keeps nothing: no peers, no policy grants, no routes.
        revoked: async () => {
          await applyNext({ ...base, peers: [], policies: [], exitNode: { ...base.exitNode, providesRoutes: [], availableRoutes: [] } });
          nat.forget(); // no probes to former peers, no relay registrations
        },
        changed: () => changes.notify(),
      });
      await control.start();
      undo.push(() => control.stop());
      Object.assign(status, { control });
    }

    status.ready = true;
    changes.notify();
    log.info(`Warren helper up: ${profile.identity} ${profile.virtualAddress} on ${tun.name}, ` +
      `UDP ${bind.port}, ${profile.peers.length} peer(s), API ${opts.socketPath}`);
  } catch (e) {
    await teardown();
    throw e;
  }

  await stopped;
  await teardown();
  log.info('Warren helper stopped; adapter and routes removed');
}

// waitForStopSignal resolves on SIGTERM or SIGINT. A crash in between still tears down first.
function waitForStopSignal(log: Logger, teardown: () => Promise<void>, onHup: () => void): Promise<void> {
  return new Promise((resolve) => {
    const stop = (sig: string) => (): void => {
      log.info(`${sig} received, stopping`);
      process.off('SIGTERM', onTerm);
      process.off('SIGINT', onInt);
      resolve();
    };
    const onTerm = stop('SIGTERM');
    const onInt = stop('SIGINT');
    process.on('SIGTERM', onTerm);
    process.on('SIGINT', onInt);
    process.on('SIGHUP', () => {
      log.info('SIGHUP received, reloading the profile');
      onHup();
    });
    process.on('uncaughtException', (e) => {
      log.error(`internal error, stopping: ${e.stack ?? e.message}`);
      void teardown().finally(() => process.exit(70));
    });
  });
}
