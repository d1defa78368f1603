// Where this system's traffic may start and end: its own addresses (IPv4 and IPv6), the subnets
// it provides as an exit node, and the coordinator's route grants into them. The filter asks
// these questions about addresses in the word form of parsed.ts (four words, IPv4 mapped), for a
// packet (ParsedPacket.addr) and for a tracked flow's key (FlowTable.addresses) alike, without
// allocating.
import type { Cidr } from '../../../src-shared/lib/ip/ipv4.js';
import type { IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { IPv6 } from '../../../src-shared/lib/ip/ipv6.js';
import { DROP, PASS } from './reasons.js';

/** ROUTED is admit's answer for a new flow that a route grant admits whatever policy says. */
export const ROUTED = -1;

/** RoutePrefix is a provided or granted subnet: an IPv4 Cidr, or an IpPrefix of either family. */
export type RoutePrefix = Cidr | IpPrefix;

// A prefix list is flat, STRIDE words a prefix: the family (4 or 6), the masked address, the mask.
const STRIDE = 9;

/** LocalScope holds this system's addresses, provided subnets and route grants. */
export class LocalScope {
  // This system's IPv4 address (mapped) at 0 and IPv6 address at 4.
  private readonly own = new Uint32Array(8);
  private has4 = false;
  private has6 = false;
  private scoped = false;
  private provided: Uint32Array = new Uint32Array(0);
  private grants: Map<number, Uint32Array> | null = null;
  private via: Map<number, Uint32Array> = new Map();
  private overlays: Uint32Array = new Uint32Array(0);

  /** set names this system's addresses (0 / null: none of that family) and provided subnets.
   * Once either address is set, a family without one has no local address: its new flows can
   * only be routed ones, so IPv6 stays closed until the daemon says which address is ours. */
  set(address4: number, routes: readonly RoutePrefix[], address6: IPv6 | null): void {
    this.has4 = address4 >>> 0 !== 0;
    this.has6 = address6 !== null;
    this.scoped = this.has4 || this.has6;
    this.own.set([0, 0, 0xffff, address4 >>> 0], 0);
    if (address6 !== null) this.own.set([address6.w0, address6.w1, address6.w2, address6.w3], 4);
    this.provided = prefixWords(routes);
  }

  /** setGrants installs route grants (peer slot → subnets), or null for static mode. */
  setGrants(grants: ReadonlyMap<number, readonly RoutePrefix[]> | null): void {
    this.grants = grants === null ? null : new Map([...grants].map(([peer, rs]) => [peer >>> 0, prefixWords(rs)]));
  }

  /** setVia installs the subnets this system routes through each peer (peer slot → subnets) by
   * a route grant of the coordinator's: traffic this system starts into them needs no policy.
   * Addresses in the overlays (the virtual networks) are systems', never routed: a full tunnel
   * (0.0.0.0/0) holds the exit node's own address, which stays behind policy. */
  setVia(via: ReadonlyMap<number, readonly RoutePrefix[]>, overlays: readonly RoutePrefix[]): void {
    this.via = new Map([...via].map(([peer, rs]) => [peer >>> 0, prefixWords(rs)]));
    this.overlays = prefixWords(overlays);
  }

  /** isOwn tells whether the address at a[at] is one of this system's own. */
  isOwn(a: Uint32Array, at: number): boolean {
    const o = this.own;
    const i = isMapped(a, at) ? (this.has4 ? 0 : -1) : this.has6 ? 4 : -1;
    return i >= 0 && a[at] === o[i] && a[at + 1] === o[i + 1] && a[at + 2] === o[i + 2] && a[at + 3] === o[i + 3];
  }

  /** isLocal tells whether a flow may start from (egress) or end at (ingress) the address at
   * a[at] without a provided subnet: it is this system's, or no address was ever set. */
  isLocal(a: Uint32Array, at: number): boolean {
    return !this.scoped || this.isOwn(a, at);
  }

  /** isProvided tells whether the address at a[at] lies in a subnet this system provides. */
  isProvided(a: Uint32Array, at: number): boolean {
    return inPrefixes(this.provided, a, at);
  }

  /** isGranted tells whether a route grant lets peer reach the address at a[at]. */
  isGranted(peer: number, a: Uint32Array, at: number): boolean {
    const rs = this.grants?.get(peer);
    return rs !== undefined && inPrefixes(rs, a, at);
  }

  /**
   * admit judges where a new flow starts and ends (local address at a[lo], remote at a[ro]):
   * ROUTED when a route grant admits it, PASS when policy decides, else a drop code. Into a
   * provided subnet (ingress) the coordinator's grant to that peer decides; static mode leaves it
   * to the policy to this system. Out to a subnet this system routes through the peer by a grant
   * (egress) the grant is the permission. A subnet may answer but never start (egress).
   */
  admit(egress: boolean, peer: number, a: Uint32Array, lo: number, ro: number): number {
    if (!this.isLocal(a, lo)) {
      if (egress) return DROP.unsolicitedFromSubnet;
      if (!this.isProvided(a, lo)) return DROP.notForThisSystem;
      if (this.grants === null) return PASS;
      return this.isGranted(peer, a, lo) ? ROUTED : DROP.noRouteGrant;
    }
    return egress && this.isVia(peer, a, ro) ? ROUTED : PASS;
  }

  /** isVia tells whether this system reaches the address at a[at] through peer by a granted route. */
  isVia(peer: number, a: Uint32Array, at: number): boolean {
    const rs = this.via.get(peer);
    return rs !== undefined && inPrefixes(rs, a, at) && !inPrefixes(this.overlays, a, at);
  }
}

function isMapped(a: Uint32Array, at: number): boolean {
  return a[at] === 0 && a[at + 1] === 0 && a[at + 2] === 0xffff;
}

// inPrefixes tells whether the address at a[at] lies in one of the prefixes, of its own family
// (::/0 holds no IPv4 address, although mapped words would match it).
function inPrefixes(list: Uint32Array, a: Uint32Array, at: number): boolean {
  const fam = isMapped(a, at) ? 4 : 6;
  for (let i = 0; i < list.length; i += STRIDE) {
    if (
      list[i] === fam &&
      (a[at]! & list[i + 5]!) >>> 0 === list[i + 1] &&
      (a[at + 1]! & list[i + 6]!) >>> 0 === list[i + 2] &&
      (a[at + 2]! & list[i + 7]!) >>> 0 === list[i + 3] &&
      (a[at + 3]! & list[i + 8]!) >>> 0 === list[i + 4]
    )
      return true;
  }
  return false;
}

// prefixWords flattens prefixes into the list form above.
function prefixWords(routes: readonly RoutePrefix[]): Uint32Array {
  const out = new Uint32Array(routes.length * STRIDE);
  routes.forEach((r, n) => {
    const i = n * STRIDE;
    const a = typeof r.addr === 'number' ? { family: 4 as const, v4: r.addr } : r.addr;
    const words = a.family === 6 ? [a.w0, a.w1, a.w2, a.w3] : [0, 0, 0xffff, a.v4];
    // An IPv4 prefix of n bits is the mapped prefix of 96 + n bits.
    const bits = a.family === 6 ? Math.min(r.bits, 128) : 96 + Math.min(r.bits, 32);
    out[i] = a.family;
    for (let w = 0; w < 4; w++) {
      const m = maskWord(bits - 32 * w);
      out[i + 5 + w] = m;
      out[i + 1 + w] = (words[w]! & m) >>> 0;
    }
  });
  return out;
}

// maskWord is the mask of one word when `bits` of the prefix fall in it (<= 0: none, >= 32: all).
function maskWord(bits: number): number {
  return bits <= 0 ? 0 : bits >= 32 ? 0xffffffff : (0xffffffff << (32 - bits)) >>> 0;
}
