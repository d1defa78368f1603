// AllowedIps: the cryptokey routing table (WireGuard whitepaper §2): a longest-prefix-match
// table from IPv4 prefixes to peers. Outbound it picks the peer for a destination; inbound it
// checks that a decrypted packet's source belongs to the peer that sent it.
//
// A path-compressed binary trie: each node holds a prefix (addr, bits) and children chosen by
// the bit right after the node's prefix. Lookups touch at most one node per distinct prefix
// length on the path, and allocate nothing.

interface Node<T> {
  addr: number; // network address, host order, masked to `bits`
  bits: number;
  value: T | undefined;
  child0: Node<T> | null;
  child1: Node<T> | null;
}

/** maskOf returns the netmask for a prefix length as an unsigned 32-bit number. */
export function maskOf(bits: number): number {
  return bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
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

/** AllowedIps maps IPv4 prefixes to values with longest-prefix-match lookup. */
export class AllowedIps<T> {
  private root: Node<T> | null = null;
  private count = 0;

  /** size is the number of prefixes stored. */
  get size(): number {
    return this.count;
  }

  /** insert sets the value for addr/bits, replacing any previous owner of that exact prefix. */
  insert(addr: number, bits: number, value: T): void {
    if (!Number.isInteger(bits) || bits < 0 || bits > 32) throw new RangeError(`prefix length ${bits} is not 0-32`);
    addr = (addr & maskOf(bits)) >>> 0;
    let link: { get(): Node<T> | null; set(n: Node<T>): void } = {
      get: () => this.root,
      set: (n) => {
        this.root = n;
      },
    };
    for (;;) {
      const node = link.get();
      if (node === null) {
        link.set({ addr, bits, value, child0: null, child1: null });
        this.count++;
        return;
      }
      const common = commonBits(node.addr, addr, Math.min(node.bits, bits));
      if (common === node.bits && node.bits === bits) {
        if (node.value === undefined) this.count++;
        node.value = value;
        return;
      }
      if (common === node.bits) {
        // The new prefix lies below this node: descend by its next bit.
        const parent = node;
        link =
          bitAt(addr, node.bits) === 0
            ? {
                get: () => parent.child0,
                set: (n) => {
                  parent.child0 = n;
                },
              }
            : {
                get: () => parent.child1,
                set: (n) => {
                  parent.child1 = n;
                },
              };
        continue;
      }
      // The paths diverge (or the new prefix is shorter): insert a node at the common prefix.
      const fresh: Node<T> =
        common === bits
          ? { addr, bits, value, child0: null, child1: null }
          : { addr: (addr & maskOf(common)) >>> 0, bits: common, value: undefined, child0: null, child1: null };
      if (bitAt(node.addr, common) === 0) fresh.child0 = node;
      else fresh.child1 = node;
      if (common !== bits) {
        const leaf: Node<T> = { addr, bits, value, child0: null, child1: null };
        if (bitAt(addr, common) === 0) fresh.child0 = leaf;
        else fresh.child1 = leaf;
      }
      link.set(fresh);
      this.count++;
      return;
    }
  }

  /** lookup returns the value of the longest prefix containing addr, or undefined. */
  lookup(addr: number): T | undefined {
    let node = this.root;
    let found: T | undefined;
    while (node !== null) {
      if (node.bits !== 0 && ((addr ^ node.addr) & maskOf(node.bits)) !== 0) break;
      if (node.value !== undefined) found = node.value;
      if (node.bits === 32) break;
      node = bitAt(addr, node.bits) === 0 ? node.child0 : node.child1;
    }
    return found;
  }

  /** exact returns the value stored for exactly addr/bits, or undefined. */
  exact(addr: number, bits: number): T | undefined {
    addr = (addr & maskOf(bits)) >>> 0;
    let node = this.root;
    while (node !== null && node.bits <= bits) {
      if (((addr ^ node.addr) & maskOf(node.bits)) !== 0) return undefined;
      if (node.bits === bits) return node.value;
      node = bitAt(addr, node.bits) === 0 ? node.child0 : node.child1;
    }
    return undefined;
  }

  /** removeValue drops every prefix owned by value (a peer being removed). */
  removeValue(value: T): void {
    const walk = (node: Node<T> | null): Node<T> | null => {
      if (node === null) return null;
      node.child0 = walk(node.child0);
      node.child1 = walk(node.child1);
      if (node.value === value) {
        node.value = undefined;
        this.count--;
      }
      return this.prune(node);
    };
    this.root = walk(this.root);
  }

  /** remove drops the exact prefix addr/bits if present. */
  remove(addr: number, bits: number): boolean {
    addr = (addr & maskOf(bits)) >>> 0;
    let removed = false;
    const walk = (node: Node<T> | null): Node<T> | null => {
      if (node === null) return null;
      if (node.bits > bits || ((addr ^ node.addr) & maskOf(node.bits)) !== 0) return node;
      if (node.bits === bits) {
        if (node.value !== undefined) {
          node.value = undefined;
          this.count--;
          removed = true;
        }
      } else if (bitAt(addr, node.bits) === 0) node.child0 = walk(node.child0);
      else node.child1 = walk(node.child1);
      return this.prune(node);
    };
    this.root = walk(this.root);
    return removed;
  }

  /** entries lists every (addr, bits, value), shortest prefixes first along each path. */
  entries(): Array<{ addr: number; bits: number; value: T }> {
    const out: Array<{ addr: number; bits: number; value: T }> = [];
    const walk = (node: Node<T> | null): void => {
      if (node === null) return;
      if (node.value !== undefined) out.push({ addr: node.addr, bits: node.bits, value: node.value });
      walk(node.child0);
      walk(node.child1);
    };
    walk(this.root);
    return out;
  }

  // prune removes valueless nodes with fewer than two children, keeping the trie compressed.
  private prune(node: Node<T>): Node<T> | null {
    if (node.value !== undefined) return node;
    if (node.child0 === null) return node.child1;
    if (node.child1 === null) return node.child0;
    return node;
  }
}
