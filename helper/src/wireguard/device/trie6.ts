// Trie6: the IPv6 half of the cryptokey routing table (allowed-ips.ts). The same path-compressed
// binary trie as trie4.ts, keyed on ipv6.ts's four host-order words (w0 most significant; bit i
// is (word >>> (31 - i % 32)) & 1). Lookups take the words as four numbers, so reading an
// address out of a packet and looking it up allocates nothing.
import { prefixMask } from '../../../../src-shared/lib/ip/ipv4.js';
import { ipv6WordMask } from '../../../../src-shared/lib/ip/ipv6.js';
import { clearValueBelow, prune } from './trie4.js';

/** Node6 is one trie node; the words are the network address masked to `bits`. */
export interface Node6<T> {
  w0: number;
  w1: number;
  w2: number;
  w3: number;
  bits: number;
  value: T | undefined;
  c0: Node6<T> | null;
  c1: Node6<T> | null;
}

/** bitAt returns bit i (0 = most significant) of the address w0..w3. */
function bitAt(w0: number, w1: number, w2: number, w3: number, i: number): number {
  const w = i < 64 ? (i < 32 ? w0 : w1) : i < 96 ? w2 : w3;
  return (w >>> (31 - (i & 31))) & 1;
}

/** sharedBits returns how many leading bits the node's address and a0..a3 have in common. */
function sharedBits(n: Node6<unknown>, a0: number, a1: number, a2: number, a3: number): number {
  if (n.w0 !== a0) return Math.clz32(n.w0 ^ a0);
  if (n.w1 !== a1) return 32 + Math.clz32(n.w1 ^ a1);
  if (n.w2 !== a2) return 64 + Math.clz32(n.w2 ^ a2);
  if (n.w3 !== a3) return 96 + Math.clz32(n.w3 ^ a3);
  return 128;
}

/** matches tells whether the address a0..a3 lies inside the node's prefix. */
function matches(n: Node6<unknown>, a0: number, a1: number, a2: number, a3: number): boolean {
  const b = n.bits;
  if (b <= 32) return ((a0 ^ n.w0) & prefixMask(b)) === 0;
  if (a0 !== n.w0) return false;
  if (b <= 64) return ((a1 ^ n.w1) & prefixMask(b - 32)) === 0;
  if (a1 !== n.w1) return false;
  if (b <= 96) return ((a2 ^ n.w2) & prefixMask(b - 64)) === 0;
  if (a2 !== n.w2) return false;
  return ((a3 ^ n.w3) & prefixMask(b - 96)) === 0;
}

function leaf<T>(w0: number, w1: number, w2: number, w3: number, bits: number, value: T | undefined): Node6<T> {
  return { w0, w1, w2, w3, bits, value, c0: null, c1: null };
}

/** branch is a valueless node at the first `bits` bits of w0..w3. */
function branch<T>(w0: number, w1: number, w2: number, w3: number, bits: number): Node6<T> {
  const m = (w: number, k: number): number => (w & ipv6WordMask(bits, k)) >>> 0;
  return leaf<T>(m(w0, 0), m(w1, 1), m(w2, 2), m(w3, 3), bits, undefined);
}

/** Trie6 maps IPv6 prefixes to values with longest-prefix-match lookup. */
export class Trie6<T> {
  root: Node6<T> | null = null;
  size = 0;

  /** insert sets the value of w0..w3/bits (masked, bits 0-128); true if the prefix is new. */
  insert(w0: number, w1: number, w2: number, w3: number, bits: number, value: T): boolean {
    let parent: Node6<T> | null = null;
    let side = 0;
    let node = this.root;
    while (node !== null) {
      const shared = sharedBits(node, w0, w1, w2, w3);
      const max = node.bits < bits ? node.bits : bits;
      const common = shared < max ? shared : max;
      if (common === node.bits && node.bits === bits) {
        const fresh = node.value === undefined;
        if (fresh) this.size++;
        node.value = value;
        return fresh;
      }
      if (common < node.bits) {
        // The paths diverge here, or the new prefix is shorter: a node at the common prefix
        // takes this node's place, with the old node below it.
        const split = common === bits ? leaf(w0, w1, w2, w3, bits, value) : branch<T>(w0, w1, w2, w3, common);
        const nodeSide = bitAt(node.w0, node.w1, node.w2, node.w3, common);
        if (nodeSide === 0) split.c0 = node;
        else split.c1 = node;
        if (common !== bits) {
          if (nodeSide === 0) split.c1 = leaf(w0, w1, w2, w3, bits, value);
          else split.c0 = leaf(w0, w1, w2, w3, bits, value);
        }
        this.link(parent, side, split);
        this.size++;
        return true;
      }
      parent = node;
      side = bitAt(w0, w1, w2, w3, node.bits);
      node = side === 0 ? node.c0 : node.c1;
    }
    this.link(parent, side, leaf(w0, w1, w2, w3, bits, value));
    this.size++;
    return true;
  }

  /**
   * lookup returns the value of the longest prefix containing a0..a3, or undefined. Every node
   * on a descent path is a prefix of the deepest one, so the walk follows the address's bits
   * without comparing words, compares the address with the deepest node once, and then takes
   * the deepest valued node no longer than the bits they share.
   */
  lookup(a0: number, a1: number, a2: number, a3: number): T | undefined {
    let node = this.root;
    let last: Node6<T> | null = null;
    while (node !== null) {
      last = node;
      if (node.bits === 128) break;
      node = bitAt(a0, a1, a2, a3, node.bits) === 0 ? node.c0 : node.c1;
    }
    if (last === null) return undefined;
    const shared = sharedBits(last, a0, a1, a2, a3);
    let found: T | undefined;
    node = this.root;
    while (node !== null && node.bits <= shared) {
      if (node.value !== undefined) found = node.value;
      if (node.bits === 128) break;
      node = bitAt(a0, a1, a2, a3, node.bits) === 0 ? node.c0 : node.c1;
    }
    return found;
  }

  /** find returns the node holding exactly w0..w3/bits (masked), valued or not, or null. */
  find(w0: number, w1: number, w2: number, w3: number, bits: number): Node6<T> | null {
    let node = this.root;
    while (node !== null && node.bits <= bits) {
      if (!matches(node, w0, w1, w2, w3)) return null;
      if (node.bits === bits) return node;
      node = bitAt(w0, w1, w2, w3, node.bits) === 0 ? node.c0 : node.c1;
    }
    return null;
  }

  /** remove clears w0..w3/bits (masked); true if it held a value. */
  remove(w0: number, w1: number, w2: number, w3: number, bits: number): boolean {
    const node = this.find(w0, w1, w2, w3, bits);
    if (node === null || node.value === undefined) return false;
    // Clearing the value and pruning the path keeps the trie compressed; the walk from the
    // root runs only when something was there to remove.
    this.root = this.removeBelow(this.root, w0, w1, w2, w3, bits);
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
  forEach(fn: (node: Node6<T>, value: T) => void): void {
    const stack: Node6<T>[] = this.root ? [this.root] : [];
    while (stack.length > 0) {
      const n = stack.pop()!;
      if (n.value !== undefined) fn(n, n.value);
      if (n.c1) stack.push(n.c1);
      if (n.c0) stack.push(n.c0);
    }
  }

  // link puts next where the walk stopped: the root, or the parent's child on that side.
  private link(parent: Node6<T> | null, side: number, next: Node6<T>): void {
    if (parent === null) this.root = next;
    else if (side === 0) parent.c0 = next;
    else parent.c1 = next;
  }

  private removeBelow(
    node: Node6<T> | null,
    w0: number,
    w1: number,
    w2: number,
    w3: number,
    bits: number,
  ): Node6<T> | null {
    if (node === null || node.bits > bits || !matches(node, w0, w1, w2, w3)) return node;
    if (node.bits === bits) {
      if (node.value !== undefined) this.size--;
      node.value = undefined;
    } else if (bitAt(w0, w1, w2, w3, node.bits) === 0) node.c0 = this.removeBelow(node.c0, w0, w1, w2, w3, bits);
    else node.c1 = this.removeBelow(node.c1, w0, w1, w2, w3, bits);
    return prune(node);
  }
}
