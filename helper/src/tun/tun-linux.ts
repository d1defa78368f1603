// The Linux adapter: a TUN device (IFF_TUN|IFF_NO_PI) opened by the native addon, whose reader
// thread hands packets to JS in batches. Unless WARREN_TUN_OFFLOAD=off it is opened with
// IFF_VNET_HDR and TSO/USO: the reader splits the kernel's super-packets before JS sees them
// and writes coalesce TCP segments (native/src/vnet.h), so JS still sees one packet per slot. Address, MTU, link state and the overlay route are set
// with iproute2. The device is not persistent, so the kernel deletes it (with its address and
// routes) as soon as its file descriptor closes, even if the helper is killed.
import { existsSync, writeFileSync } from 'node:fs';
import * as native from '../../../src-shared/lib/native/index.js';
import { formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { formatIp, formatIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { ip, ipQuiet, linkExists } from './ip.js';
import type { RouteConflict, TunAdapter, TunConfig, TunDriver } from './index.js';
import { runCommandSync } from '../../../src-shared/lib/command.js';
import { HEADROOM, MAX_BATCH, slotSizeFor, type Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';

/**
 * disableIPv6 keeps the kernel from sending IPv6 (router solicitations, MLD reports) into an
 * adapter that has no IPv6 address, so those packets could only be dropped. Hosts without IPv6
 * have no such sysctl, which is fine.
 */
function disableIPv6(name: string): void {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
  } catch {
    // IPv6 is off on this host or in this namespace
  }
}

/**
 * IPV6_QUIET are the adapter's own IPv6 settings (Documentation/networking/ip-sysctl.rst), in the
 * order they are written, before IPv6 is turned on and the link comes up:
 * - addr_gen_mode 1 (none): no link-local address, so nothing of the kernel's own (router
 *   solicitations, MLD reports, DAD probes) has a source address to leave from; the overlay
 *   needs none, peers are reached by their overlay addresses.
 * - accept_ra 0, autoconf 0, router_solicitations 0: no router discovery (RFC 4861 §6.3.7) and
 *   no SLAAC (RFC 4862) on a link that has no routers.
 * - accept_dad 0, dad_transmits 0: no duplicate address detection; the coordinator guarantees
 *   the address is unique, and the address is also added with `nodad`.
 * These live under conf/<adapter>/, which the kernel removes with the adapter (it is not
 * persistent), so nothing global changes and nothing is left after a stop or a crash. The TUN
 * link is also IFF_NOARP, for which the kernel joins no solicited-node groups and skips DAD.
 */
export const IPV6_QUIET: ReadonlyArray<readonly [string, string]> = [
  ['addr_gen_mode', '1'],
  ['accept_ra', '0'],
  ['autoconf', '0'],
  ['router_solicitations', '0'],
  ['accept_dad', '0'],
  ['dad_transmits', '0'],
  ['disable_ipv6', '0'],
];

/** enableIPv6 applies IPV6_QUIET to the adapter; false if this host or namespace has no IPv6. */
function enableIPv6(name: string): boolean {
  if (!existsSync('/proc/sys/net/ipv6/conf')) return false;
  for (const [key, value] of IPV6_QUIET) writeFileSync(`/proc/sys/net/ipv6/conf/${name}/${key}`, value);
  return true;
}

/** AdapterPlan is the iproute2 arguments that configure an adapter, in the order they run, and
 * the ones that take its overlay route away on close. */
export interface AdapterPlan {
  mtu: string[];
  address: string[];
  up: string[];
  route: string[];
  unroute: string[];
  /** address6, route6 and unroute6 are set when the adapter gets IPv6 (TunConfig.address6). */
  address6: string[] | null;
  route6: string[] | null;
  unroute6: string[] | null;
}

/** adapterPlan computes the plan for the adapter the kernel named `name` (it may differ from
 * cfg.name when that is a pattern such as "wg%d"). */
export function adapterPlan(name: string, cfg: TunConfig): AdapterPlan {
  const vaddr = formatIPv4(cfg.address);
  const net = `${formatIPv4(cfg.network.addr)}/${cfg.network.bits}`;
  return {
    mtu: ['link', 'set', 'dev', name, 'mtu', String(cfg.mtu)],
    address: ['addr', 'add', `${vaddr}/32`, 'dev', name],
    up: ['link', 'set', 'dev', name, 'up'],
    route: ['route', 'add', net, 'dev', name, 'src', vaddr, 'proto', 'static'],
    unroute: ['route', 'del', net, 'dev', name],
    ...plan6(name, cfg),
  };
}

/** plan6 is the IPv6 part of the plan: the address as a /128 (peers are reached through the
 * route, not on-link) without DAD, and the network's prefix through the adapter from it. */
function plan6(name: string, cfg: TunConfig): Pick<AdapterPlan, 'address6' | 'route6' | 'unroute6'> {
  if (!cfg.address6 || !cfg.network6) return { address6: null, route6: null, unroute6: null };
  const a = formatIp(cfg.address6);
  const net = formatIpPrefix(cfg.network6);
  return {
    address6: ['-6', 'addr', 'add', `${a}/128`, 'dev', name, 'nodad'],
    route6: ['-6', 'route', 'add', net, 'dev', name, 'src', a, 'proto', 'static'],
    unroute6: ['-6', 'route', 'del', net, 'dev', name],
  };
}

/** tunOpenError words a failure to create the adapter for the person running the helper; an
 * errno it has no advice for comes back unchanged. */
export function tunOpenError(name: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EBUSY') {
    return new Error(
      `adapter ${name} is in use by another program (another Warren helper or VPN?); ` +
        'stop it or set Adapter.Name in the profile',
    );
  }
  if (err.code === 'EPERM' || err.code === 'EACCES') {
    return new Error(`cannot create adapter ${name}: permission denied (run the helper as root)`);
  }
  if (err.code === 'ENOENT')
    return new Error('cannot create the adapter: /dev/net/tun is missing (load the tun module)');
  return err;
}

/** LinuxTunSys is what openLinuxTun asks of the system; tests replace it to run without root. */
export interface LinuxTunSys {
  tunOpen(name: string, offload: boolean): { fd: number; name: string; vnetHdr?: boolean; tso?: boolean };
  closeFd(fd: number): void;
  /** ip runs iproute2 and throws with its message on failure; ipQuiet reports instead. */
  ip(args: string[]): void;
  ipQuiet(args: string[]): boolean;
  disableIPv6(name: string): void;
  /** enableIPv6 turns IPv6 on quietly (IPV6_QUIET); false when the host has no IPv6. */
  enableIPv6(name: string): boolean;
  /** routeHolder names the device of the route that already has prefix, or null (optional:
   * tests that never collide leave it out). */
  routeHolder?(prefix: string, v6: boolean): string | null;
}

const SYSTEM: LinuxTunSys = {
  tunOpen: (name, offload) => native.tunOpen(name, offload),
  closeFd: (fd) => native.closeFd(fd),
  ip,
  ipQuiet,
  disableIPv6,
  enableIPv6,
  routeHolder,
};

/** routeHolder reads the device of the main table's route for exactly prefix: `ip route show
 * exact PREFIX` prints "PREFIX dev DEV ..." (the holder can also be a blackhole or gateway
 * route, then there is no dev and null says so). */
function routeHolder(prefix: string, v6: boolean): string | null {
  const r = runCommandSync('ip', [...(v6 ? ['-6'] : []), '-o', 'route', 'show', 'exact', prefix]);
  const m = r.ok ? /\bdev (\S{1,15})/.exec(r.stdout) : null;
  return m?.[1] ?? null;
}

/** EEXIST_TEXT is how iproute2 reports EEXIST for a route add (lib/libnetlink.c prints
 * strerror after "RTNETLINK answers: "). */
const EEXIST_TEXT = 'File exists';

/** addOverlayRoute adds one overlay route; when another program's route already has the prefix
 * (another VPN using 100.64.0.0/10, say) it leaves that route alone and returns the conflict,
 * so the helper runs on and reports it instead of failing (docs/profile.md, Adapter). */
function addOverlayRoute(sys: LinuxTunSys, args: string[], prefix: string, v6: boolean): RouteConflict | null {
  try {
    sys.ip(args);
    return null;
  } catch (e) {
    if (!(e as Error).message.includes(EEXIST_TEXT)) throw e;
    return { prefix, device: sys.routeHolder ? sys.routeHolder(prefix, v6) : null };
  }
}

/** openLinuxTun creates the adapter and configures it; on any failure nothing is left behind. */
export function openLinuxTun(cfg: TunConfig, sys: LinuxTunSys = SYSTEM): TunAdapter {
  let opened: ReturnType<LinuxTunSys['tunOpen']>;
  const wish = native.tunOffloadWish();
  try {
    opened = sys.tunOpen(cfg.name, wish.offload);
  } catch (e) {
    throw tunOpenError(cfg.name, e as NodeJS.ErrnoException);
  }
  const { fd, name } = opened;
  const vnet = opened.vnetHdr === true;
  const writeMode = !vnet ? 0 : wish.gro ? 2 : 1;
  const plan = adapterPlan(name, cfg);
  let ipv6 = false;
  const conflicts: RouteConflict[] = [];
  try {
    sys.ip(plan.mtu);
    ipv6 = plan.address6 !== null && sys.enableIPv6(name);
    if (!ipv6) sys.disableIPv6(name);
    sys.ip(plan.address);
    if (ipv6) sys.ip(plan.address6!);
    sys.ip(plan.up);
    const c4 = addOverlayRoute(sys, plan.route, plan.route[2]!, false);
    if (c4) conflicts.push(c4);
    const c6 = ipv6 ? addOverlayRoute(sys, plan.route6!, plan.route6![3]!, true) : null;
    if (c6) conflicts.push(c6);
  } catch (e) {
    sys.closeFd(fd);
    throw e;
  }
  let closed = false;
  return tunAdapterOn(fd, {
    name,
    mtu: cfg.mtu,
    ipv6,
    routeConflicts: conflicts,
    vnet,
    tso: vnet && opened.tso === true,
    writeMode,
    close() {
      if (closed) return;
      closed = true;
      // The route and address go with the device, but remove the route first so that nothing
      // is routed into a half-closed adapter.
      // A route another program held was never ours: it is left as it was.
      if (!conflicts.some((c) => c.prefix === plan.route[2])) sys.ipQuiet(plan.unroute);
      if (ipv6 && !conflicts.some((c) => c.prefix === plan.route6![3])) sys.ipQuiet(plan.unroute6!);
      sys.closeFd(fd);
    },
  });
}

/** AdapterOnFd is what tunAdapterOn needs besides the descriptor: the adapter's name, MTU and
 * addresses as configured, whether the descriptor carries virtio-net headers (and TSO), how
 * writes go to it (native.tunWriteBatch's mode), and what closing it takes. */
export interface AdapterOnFd {
  name: string;
  mtu: number;
  ipv6: boolean;
  routeConflicts: RouteConflict[];
  vnet: boolean;
  tso: boolean;
  writeMode: native.TunWriteMode;
  close(): void;
}

/** tunAdapterOn is the adapter over a packet descriptor: a TUN device's, or one end of a
 * packetPair for the packet path's warm-up, which so runs this very code (one object shape and
 * one set of closures for both, so V8's optimized code fits both). */
export function tunAdapterOn(fd: number, o: AdapterOnFd): TunAdapter {
  const { vnet, writeMode } = o;
  return {
    name: o.name,
    mtu: o.mtu,
    ipv6: o.ipv6,
    routeConflicts: o.routeConflicts,
    startReader(onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader {
      // The mode comes from native.readerMode: the measured default, or WARREN_READER_MODE
      // ('poll', 'thread', 'tun=poll,udp=thread') when a benchmark compares them.
      return native.startReader(
        fd,
        'tun',
        {
          maxBatch: MAX_BATCH,
          slotSize: slotSizeFor(o.mtu),
          headroom: HEADROOM,
          pool: 4,
          mode: native.readerMode('tun'),
          vnetHdr: vnet,
          onError,
        },
        onBatch,
      );
    },
    offloads: () => ({ tunTso: o.tso, tunGro: writeMode === 2 }),
    writeBatch(buf, offsets, lengths, count) {
      return native.tunWriteBatch(fd, buf, offsets, lengths, count, writeMode);
    },
    close: o.close,
  };
}

/** linuxTunDriver is the TunDriver for Linux. */
export const linuxTunDriver: TunDriver = {
  open: async (cfg) => openLinuxTun(cfg),
  exists: (name) => linkExists(name),
  remove: (name) => ipQuiet(['link', 'del', 'dev', name]),
};
