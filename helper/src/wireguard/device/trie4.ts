// Trie4: the IPv4 half of the cryptokey routing table (allowed-ips.ts). A path-compressed binary
// trie keyed on the unsigned 32-bit host-order address of ipv4.ts: each node holds a prefix
// (addr, bits) and two children chosen by the bit right after the node's prefix. A lookup
// touches at most one node per distinct prefix length on its path and allocates nothing.
import { prefixMask } from '../../../../src-shared/lib/ip/ipv4.js';

/** Node4 is one trie node; value undefined marks a pure branch point. */
export interface Node4<T> {
  addr: number; // network address, host order, masked to `bits`
  bits: number;
  value: T | undefined;
  c0: Node4<T> | null;
  c1: Node4<T> | null;
}

/** bitAt returns bit `i` (0 = most significant) of an IPv4 address. */
function bitAt(addr: number, i: number): number {
  return (addr >>> (31 - i)) & 1;
}

/** commonBits returns how many leading bits a and b share, capped at `max`. */
function commonBits(a: number, b: number, max: number): number {
  const x = (a ^ b) >>> 0;
  const n = x === 0 ? 32 : Math.clz32(x);
  return n < max ? n : max;
}

function leaf<T>(addr: number, bits: number, value: T | undefined): Node4<T> {
  return { addr, bits, value, c0: null, c1: null };
}

/** Trie4 maps IPv4 prefixes to values with longest-prefix-match lookup. */
export class Trie4<T> {
  root: Node4<T> | null = null;
  size = 0;

  /** insert sets the value of addr/bits (addr already masked, bits 0-32); true if the prefix is new. */
  insert(addr: number, bits: number, value: T): boolean {
    let parent: Node4<T> | null = null;
    let side = 0;
    let node = this.root;
    while (node !== null) {
      const common = commonBits(node.addr, addr, node.bits < bits ? node.bits : bits);
      if (common === node.bits && node.bits === bits) {
        const fresh = node.value === undefined;
        if (fresh) this.size++;
        node.value = value;
        return fresh;
      }
      if (common < node.bits) {
        // The paths diverge here, or the new prefix is shorter: a node at the common prefix
        // takes this node's place, with the old node below it.
        const split =
          common === bits ? leaf(addr, bits, value) : leaf<T>((addr & prefixMask(common)) >>> 0, common, undefined);
        if (bitAt(node.addr, common) === 0) split.c0 = node;
        else split.c1 = node;
        if (common !== bits) {
          if (bitAt(addr, common) === 0) split.c0 = leaf(addr, bits, value);
          else split.c1 = leaf(addr, bits, value);
        }
        this.link(parent, side, split);
        this.size++;
        return true;
      }
      parent = node;
      side = bitAt(addr, node.bits);
      node = side === 0 ? node.c0 : node.c1;
    }
    this.link(parent, side, leaf(addr, bits, value));
    this.size++;
    return true;
  }

  /** lookup returns the value of the longest prefix containing addr, or undefined. */
  lookup(addr: number): T | undefined {
    let node = this.root;
    let found: T | undefined;
    while (node !== null) {
      if (((addr ^ node.addr) & prefixMask(node.bits)) !== 0) break;
      if (node.value !== undefined) found = node.value;
      if (node.bits === 32) break;
      node = bitAt(addr, node.bits) === 0 ? node.c0 : node.c1;
    }
    return found;
  }

  /** find returns the node holding exactly addr/bits (addr masked), valued or not, or null. */
  find(addr: number, bits: number): Node4<T> | null {
    let node = this.root;
    while (node !== null && node.bits <= bits) {
      if (((addr ^ node.addr) & prefixMask(node.bits)) !== 0) return null;
      if (node.bits === bits) return node;
      node = bitAt(addr, node.bits) === 0 ? node.c0 : node.c1;
    }
    return null;
  }

  /** remove clears addr/bits (addr masked); true if it held a value. */
  remove(addr: number, bits: number): boolean {
    const node = this.find(addr, bits);
    if (node === null || node.value === undefined) return false;
    this.root = this.removeBelow(this.root, addr, bits);
    return true;
  }

  /** removeValue clears every prefix holding value; returns how many. */
  removeValue(value: T): number {
    const count = { n: 0 };
    this.root = clearValueBelow(this.root, value, count);
    this.size -= count.n;
    return count.n;
  }

  /** forEach visits every valued prefix, shorter prefixes before those below them. */
  forEach(fn: (addr: number, bits: number, value: T) => void): void {
    const stack: Node4<T>[] = this.root ? [this.root] : [];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.value !== undefined) fn(n.addr, n.bits, n.value);
      if (n.c1) stack.push(n.c1);
      if (n.c0) stack.push(n.c0);
    }
  }

  // link puts next where the walk stopped: the root, or the parent's child on that side.
  private link(parent: Node4<T> | null, side: number, next: Node4<T>): void {
    if (parent === null) this.root = next;
    else if (side === 0) parent.c0 = next;
    else parent.c1 = next;
  }

  private removeBelow(node: Node4<T> | null, addr: number, bits: number): Node4<T> | null {
    if (node === null || node.bits > bits || ((addr ^ node.addr) & prefixMask(node.bits)) !== 0) return node;
    if (node.bits === bits) {
      if (node.value !== undefined) this.size--;
      node.value = undefined;
    } else if (bitAt(addr, node.bits) === 0) node.c0 = this.removeBelow(node.c0, addr, bits);
    else node.c1 = this.removeBelow(node.c1, addr, bits);
    return prune(node);
  }
}

/** prune drops a valueless node with fewer than two children, keeping the trie compressed. */
export function prune<N extends { value: unknown; c0: N | null; c1: N | null }>(node: N): N | null {
  if (node.value !== undefined) return node;
  if (node.c0 === null) return node.c1;
  if (node.c1 === null) return node.c0;
  return node;
}

/** clearValueBelow empties every node of the subtree that holds value, counting them in count,
 * and returns the subtree pruned (removeValue of both families' tries). */
export function clearValueBelow<N extends { value: unknown; c0: N | null; c1: N | null }>(
  node: N | null,
  value: unknown,
  count: { n: number },
): N | null {
  if (node === null) return null;
  node.c0 = clearValueBelow(node.c0, value, count);
  node.c1 = clearValueBelow(node.c1, value, count);
  if (node.value === value) {
    node.value = undefined;
    count.n++;
  }
  return prune(node);
}
