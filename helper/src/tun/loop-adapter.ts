// An adapter without a kernel device, for the packet path's warm-up (daemon/warm-up.ts): the
// real adapter code (tun-linux.ts tunAdapterOn) over one end of a Unix SOCK_SEQPACKET pair,
// which carries one packet per read and per write as a TUN descriptor does. The other end is
// the "operating system": inject() writes a packet for the device to read, and what the device
// writes is counted there by a native reader, then dropped. Nothing is routed and no interface
// appears, so this can run anywhere the helper runs, before its own adapter carries traffic.
import * as native from '../../../src-shared/lib/native/index.js';
import { packetPair } from '../../../src-shared/lib/native/loop.js';
import { HEADROOM, slotSizeFor } from '../../../src-shared/lib/native/batch.js';
import type { Reader } from '../../../src-shared/lib/native/types.js';
import type { TunAdapter } from './index.js';
import { tunAdapterOn } from './tun-linux.js';

/** LoopAdapter is the device's adapter (tun) and the test bench around it. */
export interface LoopAdapter {
  tun: TunAdapter;
  /** arrived counts the packets the device wrote to the adapter. */
  readonly arrived: number;
  /** onArrive, when set, hears each batch of packets the device wrote. */
  onArrive: (() => void) | null;
  /** inject hands packet to the device as the OS would route it there; false if refused. */
  inject(packet: Buffer): boolean;
  /** close stops the OS side's reader and closes both descriptors. */
  close(): void;
}

/** openLoopAdapter makes a loop adapter called name with the given MTU. */
export function openLoopAdapter(name: string, mtu: number): LoopAdapter {
  const [inside, outside] = packetPair();
  let reader: Reader | null = null;
  let closed = false;
  const one = { offsets: new Uint32Array([0]), lengths: new Uint32Array(1) };
  const tun = tunAdapterOn(inside, {
    name,
    mtu,
    ipv6: false,
    routeConflicts: [],
    vnet: false,
    tso: false,
    writeMode: 0,
    close: () => undefined,
  });
  let arrived = 0;
  const loop: LoopAdapter = {
    tun,
    get arrived() {
      return arrived;
    },
    onArrive: null,
    inject(packet) {
      if (closed) return false;
      one.lengths[0] = packet.length;
      try {
        return native.tunWriteBatch(outside, packet, one.offsets, one.lengths, 1, 0) === 1;
      } catch {
        return false;
      }
    },
    close() {
      if (closed) return;
      closed = true;
      reader?.stop();
      native.closeFd(inside);
      native.closeFd(outside);
    },
  };
  try {
    reader = native.startReader(
      outside,
      'tun',
      { maxBatch: 16, slotSize: slotSizeFor(mtu), headroom: HEADROOM, pool: 2, mode: native.readerMode('tun') },
      (b) => {
        arrived += b.count;
        loop.onArrive?.();
      },
    );
  } catch (e) {
    loop.close();
    throw e;
  }
  return loop;
}
