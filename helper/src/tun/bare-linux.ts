// A bare Linux TUN device for `warren-wg`: created and read like tun-linux.ts's, but left
// unconfigured, since wg-quick or ip(8) set its addresses, MTU, link state and routes, as they
// do for wireguard-go. Its MTU may be raised after start up to 65,535, so the reader's slots
// hold the largest packet the kernel can hand over. The descriptor is all it keeps: the device
// keeps working after `ip link set NAME netns X` moves the interface away from this process.
// It takes the same segmentation offloads as the helper's adapter (tun-linux.ts; switched by
// WARREN_TUN_OFFLOAD and WARREN_TUN_GRO): the reader splits TCP super-packets into packets the
// size the kernel cut them for (the virtio header's gso_size, at most the MTU), so the slots
// still hold the largest packet the MTU allows.
import * as native from '../../../src-shared/lib/native/index.js';
import { HEADROOM, batchFor, slotSizeFor, type Batch } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';
import type { TunAdapter } from './index.js';
import { tunOpenError } from './tun-linux.js';

/** MAX_TUN_PACKET is the largest packet a TUN device carries: an MTU of 65,535. */
export const MAX_TUN_PACKET = 65_535;

/** BareTun is an open, unconfigured TUN device. */
export interface BareTun extends TunAdapter {
  readonly fd: number;
}

/** openBareTun creates the TUN device `name` (IFF_TUN|IFF_NO_PI, and IFF_VNET_HDR when the
 * offloads are wished and the kernel takes them; gone when closed). */
export function openBareTun(name: string): BareTun {
  let opened: native.TunHandle;
  const wish = native.tunOffloadWish();
  try {
    opened = native.tunOpen(name, wish.offload);
  } catch (e) {
    throw bareTunError(name, e as NodeJS.ErrnoException);
  }
  const { fd } = opened;
  const vnet = opened.vnetHdr === true;
  const writeMode = !vnet ? 0 : wish.gro ? 2 : 1;
  let closed = false;
  return {
    fd,
    name: opened.name,
    mtu: MAX_TUN_PACKET,
    startReader(onBatch: (b: Batch) => void, onError: (e: Error) => void): Reader {
      return native.startReader(
        fd,
        'tun',
        {
          maxBatch: batchFor(slotSizeFor(MAX_TUN_PACKET)),
          slotSize: slotSizeFor(MAX_TUN_PACKET),
          headroom: HEADROOM,
          pool: 4,
          mode: native.readerMode('tun'),
          vnetHdr: vnet,
          onError,
        },
        onBatch,
      );
    },
    offloads: () => ({ tunTso: vnet && opened.tso === true, tunGro: writeMode === 2 }),
    writeBatch(buf, offsets, lengths, count) {
      return native.tunWriteBatch(fd, buf, offsets, lengths, count, writeMode);
    },
    close() {
      if (closed) return;
      closed = true;
      native.closeFd(fd);
    },
  };
}

/** bareTunError words a failure to create the device for the person running warren-wg. */
export function bareTunError(name: string, err: NodeJS.ErrnoException): Error {
  if (err.code === 'EBUSY') {
    return new Error(`interface ${name} is in use by another program (is warren-wg or wireguard-go running for it?)`);
  }
  if (err.code === 'EINVAL') return new Error(`an interface named ${name} exists and is not a TUN device`);
  if (err.code === 'EPERM' || err.code === 'EACCES') {
    return new Error(`cannot create interface ${name}: permission denied (run warren-wg as root)`);
  }
  return tunOpenError(name, err);
}
