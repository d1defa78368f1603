// DaemonEnv: the daemon's OS seams in one object (DESIGN.md convention 2). runDaemon takes this
// machine's by default; unit tests pass in-memory fakes (tun/tun-fake.ts, router/router-fake.ts,
// dns/split/split-fake.ts, exitnode/exitnode-fake.ts, wireguard/device/fake-io.ts), which the
// daemon itself never imports.
import { startDnsServer, type DnsServer, type DnsServerOptions } from '../dns/server.js';
import { systemSplitDns, type SplitDnsDriver } from '../dns/split/index.js';
import { systemExitNode, type ExitNodeDriver } from '../exitnode/index.js';
import { systemRouter, type Router } from '../router/index.js';
import { systemTun, type TunDriver } from '../tun/index.js';
import { openNativeBind, type Bind } from '../wireguard/device/bind.js';
import { DEFAULT_SOCKET_DIR } from '../wireguard/uapi/server.js';

/** SignalSource delivers SIGTERM, SIGINT, SIGHUP and uncaughtException, as process does (an
 * EventEmitter in tests). */
export type SignalSource = Pick<NodeJS.EventEmitter, 'on' | 'off'>;

/** DaemonEnv is everything the daemon asks of the machine. */
export interface DaemonEnv {
  tun: TunDriver;
  router: Router;
  splitDns: SplitDnsDriver;
  exitNode: ExitNodeDriver;
  /** openBind binds WireGuard's UDP socket on address:port (port 0 picks one); "::" is
   * dual-stack, or 0.0.0.0 on a system without IPv6, which `warn` is told. */
  openBind(address: string, port: number, warn: (msg: string) => void): Bind;
  /** startDnsServer serves the zone on the virtual address, port 53. */
  startDnsServer(opts: DnsServerOptions): Promise<DnsServer>;
  signals: SignalSource;
  /** exit ends the process after an internal error has been cleaned up after. */
  exit(code: number): void;
  /** uapiDir is where the read-only UAPI socket ADAPTER.sock goes, for wg(8); null: none. */
  uapiDir: string | null;
}

/** uapiDirOf reads WARREN_UAPI_DIR: unset means /var/run/wireguard (where wg(8) looks), "off"
 * or empty means no socket (helpers side by side in namespaces may share adapter names). */
export function uapiDirOf(env: NodeJS.ProcessEnv): string | null {
  const v = env.WARREN_UAPI_DIR;
  if (v === undefined) return DEFAULT_SOCKET_DIR;
  return v === '' || v === 'off' ? null : v;
}

/** systemEnv is this machine: the implementations process.platform chooses, and the process. */
export function systemEnv(): DaemonEnv {
  return {
    tun: systemTun,
    router: systemRouter,
    splitDns: systemSplitDns,
    exitNode: systemExitNode,
    openBind: openNativeBind,
    startDnsServer,
    signals: process,
    exit: (code) => process.exit(code),
    uapiDir: uapiDirOf(process.env),
  };
}
