// PeerIdMap finds a peer by its id (the first 8 bytes of its WireGuard key) where the id lies in
// a buffer, without building a string: the relayed receive path looks one up for every datagram,
// and a hex string per datagram (and its hash in a Map) cost about as much as the rest of
// PathBind's demultiplexing together in a profile of a relayed iperf3 run.
import { PEER_ID_BYTES } from '../../../src-shared/wire/nat-wire.js';

interface Entry<T> {
  id: Uint8Array;
  value: T;
}

export class PeerIdMap<T> {
  // Keyed by the id's first four bytes; ids that share them (rare: they are key bytes) share a
  // list, searched byte by byte. Only the map's own peers are ever added, so lists stay short.
  private readonly byHead = new Map<number, Entry<T>[]>();
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** get returns the value for the id at buf[at, at+8), or undefined (also when it does not fit). */
  get(buf: Uint8Array, at = 0): T | undefined {
    if (at < 0 || at + PEER_ID_BYTES > buf.length) return undefined;
    const list = this.byHead.get(head(buf, at));
    if (list === undefined) return undefined;
    for (const e of list) if (sameId(e.id, buf, at)) return e.value;
    return undefined;
  }

  /** set maps the id (its first 8 bytes, copied) to value, replacing what it mapped to. */
  set(id: Uint8Array, value: T): void {
    if (id.length < PEER_ID_BYTES) throw new Error(`a peer id is ${PEER_ID_BYTES} bytes`);
    const h = head(id, 0);
    const list = this.byHead.get(h);
    const e = list?.find((x) => sameId(x.id, id, 0));
    if (e !== undefined) {
      e.value = value;
      return;
    }
    const entry = { id: Uint8Array.from(id.subarray(0, PEER_ID_BYTES)), value };
    if (list === undefined) this.byHead.set(h, [entry]);
    else list.push(entry);
    this.count++;
  }

  /** delete removes the id; false if it was not there. */
  delete(id: Uint8Array): boolean {
    if (id.length < PEER_ID_BYTES) return false;
    const h = head(id, 0);
    const list = this.byHead.get(h);
    const i = list === undefined ? -1 : list.findIndex((x) => sameId(x.id, id, 0));
    if (i < 0) return false;
    list!.splice(i, 1);
    if (list!.length === 0) this.byHead.delete(h);
    this.count--;
    return true;
  }
}

function head(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

function sameId(id: Uint8Array, b: Uint8Array, at: number): boolean {
  for (let k = 0; k < PEER_ID_BYTES; k++) if (id[k] !== b[at + k]) return false;
  return true;
}
