// The Linux adapter: a TUN device (IFF_TUN|IFF_NO_PI) opened by the native addon, whose reader
// thread hands packets to JS in batches. Address, MTU, link state and the overlay route are set
// with iproute2. The device is not persistent, so the kernel deletes it (with its address and
// routes) as soon as its file descriptor closes, even if the helper is killed.
import { writeFileSync } from 'node:fs';
import * as native from '../../../src-shared/lib/native/index.js';
import { formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { ip, ipQuiet, linkExists } from './ip.js';
import type { TunAdapter, TunConfig, TunDriver } from './index.js';
import { HEADROOM, MAX_BATCH, slotSizeFor, type Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';

/**
 * disableIPv6 keeps the kernel from sending IPv6 (router solicitations, MLD reports) into the
 * adapter: the overlay is IPv4 only for now, so those packets could only be dropped. Hosts
 * without IPv6 have no such sysctl, which is fine.
 */
function disableIPv6(name: string): void {
  try {
    writeFileSync(`/proc/sys/net/ipv6/conf/${name}/disable_ipv6`, '1');
  } catch {
    // IPv6 is off on this host or in this namespace
  }
}

/** AdapterPlan is the iproute2 arguments that configure an adapter, in the order they run, and
 * the ones that take its overlay route away on close. */
export interface AdapterPlan {
  mtu: string[];
  address: string[];
  up: string[];
  route: string[];
  unroute: string[];
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
  tunOpen(name: string): { fd: number; name: string };
  closeFd(fd: number): void;
  /** ip runs iproute2 and throws with its message on failure; ipQuiet reports instead. */
  ip(args: string[]): void;
  ipQuiet(args: string[]): boolean;
  disableIPv6(name: string): void;
}

const SYSTEM: LinuxTunSys = {
  tunOpen: (name) => native.tunOpen(name),
  closeFd: (fd) => native.closeFd(fd),
  ip,
  ipQuiet,
  disableIPv6,
};

/** openLinuxTun creates the adapter and configures it; on any failure nothing is left behind. */
export function openLinuxTun(cfg: TunConfig, sys: LinuxTunSys = SYSTEM): TunAdapter {
  let opened: { fd: number; name: string };
  try {
    opened = sys.tunOpen(cfg.name);
  } catch (e) {
    throw tunOpenError(cfg.name, e as NodeJS.ErrnoException);
  }
  const { fd, name } = opened;
  const plan = adapterPlan(name, cfg);
  try {
    sys.ip(plan.mtu);
    sys.disableIPv6(name);
    sys.ip(plan.address);
    sys.ip(plan.up);
    sys.ip(plan.route);
  } catch (e) {
    sys.closeFd(fd);
    throw e;
  }
  let closed = false;
  return {
    name,
    mtu: cfg.mtu,
    startReader(onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader {
      // The mode comes from native.readerMode: the measured default, or WARREN_READER_MODE
      // ('poll', 'thread', 'tun=poll,udp=thread') when a benchmark compares them.
      return native.startReader(
        fd,
        'tun',
        {
          maxBatch: MAX_BATCH,
          slotSize: slotSizeFor(cfg.mtu),
          headroom: HEADROOM,
          pool: 4,
          mode: native.readerMode('tun'),
          onError,
        },
        onBatch,
      );
    },
    writeBatch(buf, offsets, lengths, count) {
      return native.tunWriteBatch(fd, buf, offsets, lengths, count);
    },
    close() {
      if (closed) return;
      closed = true;
      // The route and address go with the device, but remove the route first so that nothing
      // is routed into a half-closed adapter.
      sys.ipQuiet(plan.unroute);
      sys.closeFd(fd);
    },
  };
}

/** linuxTunDriver is the TunDriver for Linux. */
export const linuxTunDriver: TunDriver = {
  open: async (cfg) => openLinuxTun(cfg),
  exists: (name) => linkExists(name),
  remove: (name) => ipQuiet(['link', 'del', 'dev', name]),
};
