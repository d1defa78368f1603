// AllowedIps: the cryptokey routing table (WireGuard whitepaper §2): a longest-prefix-match
// table from IPv4 and IPv6 prefixes to peers. Outbound it picks the peer for a destination;
// inbound it checks that a decrypted packet's source belongs to the peer that sent it.
//
// The families live in separate tries (trie4.ts on the u32 form, trie6.ts on four words), so an
// IPv4 lookup costs what it did before IPv6 came in and the two never match across families
// (addr.ts: ::ffff:a.b.c.d is not a.b.c.d). Prefixes are stored masked to their network, as
// wg(8) shows them. Lookups allocate nothing; everything else runs on configuration changes.
import {
  addressBits,
  ipv4Address,
  ipv6Address,
  type IPv4Address,
  type IpPrefix,
} from '../../../../src-shared/lib/ip/addr.js';
import { prefixMask } from '../../../../src-shared/lib/ip/ipv4.js';
import { ipv6WordMask } from '../../../../src-shared/lib/ip/ipv6.js';
import { Trie4 } from './trie4.js';
import { Trie6 } from './trie6.js';

/** checkedBits returns the prefix length, or throws if it is out of range for the family. */
function checkedBits(p: IpPrefix): number {
  const max = addressBits(p.addr);
  if (!Number.isInteger(p.bits) || p.bits < 0 || p.bits > max) {
    throw new RangeError(`prefix length ${p.bits} is not 0-${max}`);
  }
  return p.bits;
}

// Host bits are cleared word by word here rather than through prefixNetwork, so that a bulk
// change (130,560 prefixes for one UAPI peer) allocates nothing per prefix but the trie nodes.
const m4 = (a: IPv4Address, bits: number): number => (a.v4 & prefixMask(bits)) >>> 0;
const m6 = (w: number, bits: number, k: number): number => (w & ipv6WordMask(bits, k)) >>> 0;

/** readWord reads a big-endian u32 at buf[at] without a bounds check or an allocation. */
function readWord(buf: Uint8Array, at: number): number {
  return ((buf[at]! << 24) | (buf[at + 1]! << 16) | (buf[at + 2]! << 8) | buf[at + 3]!) >>> 0;
}

/** AllowedIps maps IPv4 and IPv6 prefixes to values with longest-prefix-match lookup. */
export class AllowedIps<T> {
  private readonly v4 = new Trie4<T>();
  private readonly v6 = new Trie6<T>();

  /** size is the number of prefixes stored, both families. */
  get size(): number {
    return this.v4.size + this.v6.size;
  }

  /** insert makes value the owner of the prefix (host bits cleared), taking it from any previous owner. */
  insert(prefix: IpPrefix, value: T): void {
    const b = checkedBits(prefix);
    const a = prefix.addr;
    if (a.family === 4) this.v4.insert(m4(a, b), b, value);
    else this.v6.insert(m6(a.w0, b, 0), m6(a.w1, b, 1), m6(a.w2, b, 2), m6(a.w3, b, 3), b, value);
  }

  /** remove drops exactly this prefix (host bits cleared); true if it was present. */
  remove(prefix: IpPrefix): boolean {
    const b = checkedBits(prefix);
    const a = prefix.addr;
    if (a.family === 4) return this.v4.remove(m4(a, b), b);
    return this.v6.remove(m6(a.w0, b, 0), m6(a.w1, b, 1), m6(a.w2, b, 2), m6(a.w3, b, 3), b);
  }

  /** exact returns the owner of exactly this prefix (host bits cleared), or undefined. */
  exact(prefix: IpPrefix): T | undefined {
    const b = checkedBits(prefix);
    const a = prefix.addr;
    if (a.family === 4) return this.v4.find(m4(a, b), b)?.value;
    return this.v6.find(m6(a.w0, b, 0), m6(a.w1, b, 1), m6(a.w2, b, 2), m6(a.w3, b, 3), b)?.value;
  }

  /** removeValue drops every prefix owned by value (a peer being removed); returns how many. */
  removeValue(value: T): number {
    return this.v4.removeValue(value) + this.v6.removeValue(value);
  }

  /** lookup4 returns the owner of the longest IPv4 prefix holding addr (ipv4.ts's u32), or undefined. */
  lookup4(addr: number): T | undefined {
    return this.v4.lookup(addr);
  }

  /**
   * lookup6 returns the owner of the longest IPv6 prefix holding the 16-byte address at
   * buf[offset] (network byte order, as in an IPv6 header, RFC 8200 §3), or undefined. The
   * caller checks that the 16 bytes are inside the packet.
   */
  lookup6(buf: Uint8Array, offset: number): T | undefined {
    return this.v6.lookup(
      readWord(buf, offset),
      readWord(buf, offset + 4),
      readWord(buf, offset + 8),
      readWord(buf, offset + 12),
    );
  }

  /** prefixesOf lists the prefixes value owns, IPv4 first, each family in address order. */
  prefixesOf(value: T): IpPrefix[] {
    const out: IpPrefix[] = [];
    this.v4.forEach((addr, bits, v) => {
      if (v === value) out.push({ addr: ipv4Address(addr)!, bits });
    });
    this.v6.forEach((n, v) => {
      if (v === value) out.push({ addr: ipv6Address(n), bits: n.bits });
    });
    return out;
  }

  /** byValue lists the prefixes of every owner in one walk (UAPI `get` prints them all). */
  byValue(): Map<T, IpPrefix[]> {
    const out = new Map<T, IpPrefix[]>();
    const add = (v: T, p: IpPrefix): void => {
      const list = out.get(v);
      if (list) list.push(p);
      else out.set(v, [p]);
    };
    this.v4.forEach((addr, bits, v) => add(v, { addr: ipv4Address(addr)!, bits }));
    this.v6.forEach((n, v) => add(v, { addr: ipv6Address(n), bits: n.bits }));
    return out;
  }
}
