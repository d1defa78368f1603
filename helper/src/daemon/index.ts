// runDaemon: the helper's main job. It brings the data plane up in an order where every step
// can be undone (socket, adapter, state file, device, local API), runs until SIGTERM/SIGINT, and
// takes everything down again. If a step fails, the steps before it are undone, so the machine
// is never left half-configured.
import { parseIPv4 } from '../config/ipv4.js';
import type { Profile } from '../config/schema.js';
import type { Logger } from '../log.js';
import { openTun, type TunAdapter } from '../tun/index.js';
import { openNativeBind, type Bind } from '../wireguard/device/bind.js';
import { Device } from '../wireguard/device/device.js';
import { startApiServer } from '../api/server.js';
import { recoverFromCrash, writeState, clearState } from './state-file.js';
import { buildStatus } from './status.js';

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
  const stopped = waitForStopSignal(log, teardown);
  try {
    // The API socket is claimed first: it is how a second helper with the same paths is
    // refused before it touches the adapter or the UDP port.
    const status = { profile, device: null as Device | null, adapter: profile.adapter.name, listenPort: profile.listenPort, startedAt: Date.now() };
    const api = await startApiServer({ socketPath: opts.socketPath, log, getStatus: () => buildStatus(status) });
    undo.push(() => api.close());

    recoverFromCrash(opts.stateDir, log);

    const bind: Bind = openNativeBind(profile.listenAddress, profile.listenPort);
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
    for (const p of profile.peers) {
      device.addPeer({
        publicKey: p.publicKey,
        presharedKey: p.presharedKey ?? undefined,
        endpoint: p.endpoint ? { addr: parseIPv4(p.endpoint.ip)!, port: p.endpoint.port } : undefined,
        allowedIps: p.allowedIps,
        persistentKeepalive: p.persistentKeepalive,
        name: p.name,
      });
    }
    device.start();
    undo.push(() => device.stop());
    Object.assign(status, { device, adapter: tun.name });

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
function waitForStopSignal(log: Logger, teardown: () => Promise<void>): Promise<void> {
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
    process.on('SIGHUP', () => log.info('SIGHUP: nothing to reload in static mode yet'));
    process.on('uncaughtException', (e) => {
      log.error(`internal error, stopping: ${e.stack ?? e.message}`);
      void teardown().finally(() => process.exit(70));
    });
  });
}
