// The data plane of `warren-wg`: a TUN device, a UDP socket, a Device and the UAPI socket,
// nothing else: no profile, firewall, DNS or coordinator. Addresses, MTU and routes are the
// caller's (ip, wg-quick); keys, peers and the port come through the UAPI (wg set, setconf).
// It stops cleanly, removing its socket, on SIGTERM and SIGINT, when the interface is deleted
// (the TUN reader then fails), and when the socket file is deleted (xplatform, "Interface").
import type { Logger } from '../../../src-shared/lib/log.js';
import { openNativeBind, type Bind } from '../wireguard/device/bind.js';
import { Device } from '../wireguard/device/device.js';
import { DeviceTarget } from '../wireguard/uapi/device-target.js';
import { startUapiServer, type UapiServer } from '../wireguard/uapi/server.js';
import { MAX_TUN_PACKET, openBareTun, type BareTun } from '../tun/bare-linux.js';
import { watchMtu } from './mtu-watch.js';

/** BIND_ADDRESS is where the UDP socket listens: "::", one dual-stack socket for both families
 * as wireguard-go's (0.0.0.0 on a system without IPv6, said once in the log). */
export const BIND_ADDRESS = '::';
/** DEFAULT_MTU is what padding assumes until the adapter's MTU is known (wireguard-go's). */
export const DEFAULT_MTU = 1420;

/** RunOptions: the interface, the logger, and where the UAPI socket goes (tests). */
export interface RunOptions {
  name: string;
  log: Logger;
  socketDir?: string;
}

/** Running is a started data plane; stopped resolves with the reason once it has stopped. */
export interface Running {
  readonly name: string;
  readonly socketPath: string;
  readonly stopped: Promise<string>;
  stop(reason: string): Promise<void>;
}

/** startDataPlane creates the device and its UAPI socket; on failure nothing is left behind. */
export async function startDataPlane(opts: RunOptions): Promise<Running> {
  const { log } = opts;
  const tun: BareTun = openBareTun(opts.name);
  let bind: Bind | null = null;
  let server: UapiServer | null = null;
  let device: Device | null = null;
  let stopMtu = (): void => {};
  let finish: (reason: string) => void = () => {};
  const stopped = new Promise<string>((resolve) => (finish = resolve));
  let stopping: Promise<void> | null = null;
  const stop = (reason: string): Promise<void> => {
    stopping ??= (async () => {
      log.verbose(`shutting down: ${reason}`);
      stopMtu();
      await server?.close();
      device?.stop();
      device?.bind.close();
      tun.close();
      finish(reason);
    })();
    return stopping;
  };
  try {
    const warn = (m: string): void => log.error(m);
    bind = openNativeBind(BIND_ADDRESS, 0, warn);
    const dev = new Device({
      privateKey: null,
      tun,
      bind,
      mtu: DEFAULT_MTU,
      maxPacket: MAX_TUN_PACKET,
      log,
      onReaderError: (what) => {
        if (what === 'adapter') void stop(`interface ${tun.name} is gone`);
      },
    });
    device = dev;
    server = await startUapiServer({
      name: tun.name,
      dir: opts.socketDir,
      log,
      handler: new DeviceTarget(dev, { log, openBind: (port) => openNativeBind(BIND_ADDRESS, port, warn) }),
      onSocketRemoved: () => void stop('the UAPI socket was removed'),
    });
    dev.start();
    stopMtu = watchMtu(tun.name, (mtu) => {
      dev.mtu = Math.min(mtu, MAX_TUN_PACKET);
      log.verbose(`interface MTU is ${mtu}`);
    });
  } catch (e) {
    await server?.close();
    device?.stop();
    bind?.close();
    tun.close();
    throw e;
  }
  const o = tun.offloads?.();
  const onOff = (b: boolean | undefined): string => (b === true ? 'on' : 'off');
  log.verbose(
    `device ${tun.name} started, UDP port ${bind.port}, UAPI at ${server.path}; ` +
      `offloads: tun-tso ${onOff(o?.tunTso)}, tun-gro ${onOff(o?.tunGro)}`,
  );
  return { name: tun.name, socketPath: server.path, stopped, stop };
}
