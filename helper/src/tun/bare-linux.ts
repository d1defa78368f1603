// A bare Linux TUN device for `warren-wg`: created and read like tun-linux.ts's, but left
// unconfigured, since wg-quick or ip(8) set its addresses, MTU, link state and routes, as they
// do for wireguard-go. Its MTU may be raised after start up to 65,535, so the reader's slots
// hold the largest packet the kernel can hand over. The descriptor is all it keeps: the device
// keeps working after `ip link set NAME netns X` moves the interface away from this process.
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

/** openBareTun creates the TUN device `name` (IFF_TUN|IFF_NO_PI; gone when closed). */
export function openBareTun(name: string): BareTun {
  let opened: { fd: number; name: string };
  try {
    opened = native.tunOpen(name);
  } catch (e) {
    throw bareTunError(name, e as NodeJS.ErrnoException);
  }
  const { fd } = opened;
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
