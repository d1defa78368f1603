// The Linux adapter: a TUN device (IFF_TUN|IFF_NO_PI) opened by the native addon, whose reader
// thread hands packets to JS in batches. Address, MTU, link state and the overlay route are set
// with iproute2. The device is not persistent, so the kernel deletes it (with its address and
// routes) as soon as its file descriptor closes, even if the helper is killed.
import { writeFileSync } from 'node:fs';
import * as native from '../../../src-shared/lib/native/index.js';
import { formatIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { ip, ipQuiet } from './ip.js';
import type { TunAdapter, TunConfig } from './index.js';
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

/** openLinuxTun creates the adapter and configures it; on any failure nothing is left behind. */
export function openLinuxTun(cfg: TunConfig): TunAdapter {
  let opened: { fd: number; name: string };
  try {
    opened = native.tunOpen(cfg.name);
  } catch (e) {
    const err = e as NodeJS.ErrnoException;
    if (err.code === 'EBUSY') {
      throw new Error(`adapter ${cfg.name} is in use by another program (another Warren helper or VPN?); ` +
        'stop it or set Adapter.Name in the profile');
    }
    if (err.code === 'EPERM' || err.code === 'EACCES') {
      throw new Error(`cannot create adapter ${cfg.name}: permission denied (run the helper as root)`);
    }
    if (err.code === 'ENOENT') throw new Error('cannot create the adapter: /dev/net/tun is missing (load the tun module)');
    throw err;
  }
  const { fd, name } = opened;
  const vaddr = formatIPv4(cfg.address);
  const net = `${formatIPv4(cfg.network.addr)}/${cfg.network.bits}`;
  try {
    ip(['link', 'set', 'dev', name, 'mtu', String(cfg.mtu)]);
    disableIPv6(name);
    ip(['addr', 'add', `${vaddr}/32`, 'dev', name]);
    ip(['link', 'set', 'dev', name, 'up']);
    ip(['route', 'add', net, 'dev', name, 'src', vaddr, 'proto', 'static']);
  } catch (e) {
    native.closeFd(fd);
    throw e;
  }
  let closed = false;
  return {
    name,
    mtu: cfg.mtu,
    startReader(onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader {
      // The mode comes from native.readerMode: the measured default, or WARREN_READER_MODE
      // ('poll', 'thread', 'tun=poll,udp=thread') when a benchmark compares them.
      return native.startReader(fd, 'tun', {
        maxBatch: MAX_BATCH, slotSize: slotSizeFor(cfg.mtu), headroom: HEADROOM, pool: 4, mode: native.readerMode('tun'), onError,
      }, onBatch);
    },
    writeBatch(buf, offsets, lengths, count) {
      return native.tunWriteBatch(fd, buf, offsets, lengths, count);
    },
    close() {
      if (closed) return;
      closed = true;
      // The route and address go with the device, but remove the route first so that nothing
      // is routed into a half-closed adapter.
      ipQuiet(['route', 'del', net, 'dev', name]);
      native.closeFd(fd);
    },
  };
}
