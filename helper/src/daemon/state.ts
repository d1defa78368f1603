// DaemonState: what a running helper is made of. Each lifecycle step (steps.ts) fills in what it
// produced; the local API's status, its routes and profile changes read it. A field is null until
// its step has started; the references stay after stop, so status still answers while the last
// steps are undone.
import type { Profile } from '../config/schema.js';
import type { ControlRuntime } from '../control/runtime.js';
import type { NatRuntime } from '../nat/runtime.js';
import type { PathBind } from '../nat/path-bind.js';
import type { TunAdapter } from '../tun/index.js';
import type { Device } from '../wireguard/device/device.js';
import type { Logger } from '../../../src-shared/lib/log.js';
import { ChangeNotifier } from './changes.js';
import type { DnsRuntime } from './dns-runtime.js';
import type { ExitRuntime } from './exit-runtime.js';
import type { LeftoverRecorder } from './leftovers.js';
import type { PolicyRuntime } from './policy-runtime.js';
import type { ProxyRuntime } from './proxy-runtime.js';
import { LoginRuntime } from './login-runtime.js';
import { TunnelControl } from './tunnel.js';

/** DaemonState is the running helper's state (see the top of this file). */
export interface DaemonState {
  readonly profilePath: string;
  readonly stateDir: string;
  readonly startedAt: number;
  readonly changes: ChangeNotifier;
  readonly tunnel: TunnelControl;
  /** profile is the profile in force: the file's at start, then each applied reload or map. */
  profile: Profile;
  /** adapter and listenPort are the profile's until the adapter and the UDP socket exist. */
  adapter: string;
  listenPort: number;
  /** adapterTaken are the default adapter names other programs had (warren0, ...), so the
   * adapter is the next free one; adapterProblems are overlay routes other programs hold. */
  adapterTaken: string[];
  adapterProblems: string[];
  /** ready turns true once every step has started. */
  ready: boolean;
  bind: PathBind | null;
  tun: TunAdapter | null;
  /** device and policy are set together, once the device runs. */
  device: Device | null;
  policy: PolicyRuntime | null;
  exit: ExitRuntime | null;
  /** dns stays null when the nameserver could not start (the tunnel runs without it). */
  dns: DnsRuntime | null;
  proxies: ProxyRuntime | null;
  /** nat and control are set in coordinated mode only. */
  nat: NatRuntime | null;
  control: ControlRuntime | null;
  /** leftovers keeps the readable record of what the state files say (from crash recovery on). */
  leftovers: LeftoverRecorder | null;
  /** login is the sign-in started through the local API (POST /v1/login). */
  readonly login: LoginRuntime;
}

/** newDaemonState is the state before the first step. */
export function newDaemonState(o: {
  profile: Profile;
  profilePath: string;
  stateDir: string;
  log: Logger;
}): DaemonState {
  const changes = new ChangeNotifier();
  return {
    profilePath: o.profilePath,
    stateDir: o.stateDir,
    startedAt: Date.now(),
    changes,
    tunnel: new TunnelControl(changes, o.log),
    profile: o.profile,
    adapter: o.profile.adapter.name,
    adapterTaken: [],
    adapterProblems: [],
    listenPort: o.profile.listenPort,
    ready: false,
    bind: null,
    tun: null,
    device: null,
    policy: null,
    exit: null,
    dns: null,
    proxies: null,
    nat: null,
    control: null,
    leftovers: null,
    login: new LoginRuntime({ profilePath: o.profilePath, stateDir: o.stateDir, notify: () => changes.notify() }),
  };
}

/** started returns a step's product for the steps after it (they run in order, so it is there). */
export function started<T>(value: T | null, what: string): T {
  if (value === null) throw new Error(`internal error: ${what} is used before it has started`);
  return value;
}
