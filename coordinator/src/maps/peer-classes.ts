// Peer lists shared by class. A system's peers, as far as policies decide them, are the other
// side of every policy naming it: so systems named by the same policies on the same sides (a
// class: every developer of a team, every shared service) have the same peers, but for
// themselves. The list is built and sorted once per class and World (netmap.ts layout), and
// members that are not on it share it as it is, so a policy change costs a sort per class,
// not one per system of the thousands a shared service lists.
import type { LiveSystem } from '../store/registry.js';
import type { World } from './world.js';

/** PeerList is a map's peers in map order (ascending identity), three views of one list. */
export interface PeerList {
  identities: string[];
  list: LiveSystem[];
  peerIds: string[];
}

/** indexOf finds id in the ascending list (binary search), or -1. */
function indexOf(sorted: readonly string[], id: string): number {
  let lo = 0;
  let hi = sorted.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const x = sorted[mid]!;
    if (x === id) return mid;
    if (x < id) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** peerListOf sorts identities (without exclude) into a PeerList of the World's systems. */
export function peerListOf(w: World, identities: Iterable<string>, exclude: string): PeerList {
  const set = new Set(identities);
  set.delete(exclude);
  const sorted = [...set].sort();
  const list = sorted.map((id) => w.byIdentity.get(id)!);
  return { identities: sorted, list, peerIds: list.map((p) => p.id) };
}

/** keys remembers each system's class key by its list of policy indexes in World.involved.
 * A World keeps the last one's `involved` (the same lists) only when every policy has the same
 * members on each side (world.ts involvedOf), so a kept list means the same key: a policy file
 * that changes only what the policies allow then costs no key per system (10,000 at once). */
const keys = new WeakMap<readonly number[], string>();

/** classKey names the class of `me`: the policies naming it (indexes) and the sides it is on. */
export function classKey(w: World, me: string): string {
  const involved = w.involved.get(me);
  if (involved === undefined) return '';
  const known = keys.get(involved);
  if (known !== undefined) return known;
  let key = '';
  for (const i of involved) {
    const p = w.policies[i]!;
    key += `${i}${p.senders.has(me) ? 's' : ''}${p.receivers.has(me) ? 'r' : ''},`;
  }
  keys.set(involved, key);
  return key;
}

/** PeerClasses caches the peer list of each class while the policies name the same systems:
 * a World whose policies have the same members on each side as the last one's keeps its
 * `involved` index (world.ts), and with it the classes and their lists, so the maps' peer lists
 * stay the same objects across a policy file that changes only what the policies allow. */
export class PeerClasses {
  private involved: World['involved'] | null = null;
  private readonly byKey = new Map<string, PeerList>();

  /** of returns the peers the policies give `me` (the other side of each policy naming it);
   * key is its classKey. */
  of(w: World, me: string, key = classKey(w, me)): PeerList {
    if (w.involved !== this.involved) {
      this.byKey.clear();
      this.involved = w.involved;
    }
    const involved = w.involved.get(me) ?? [];
    let cls = this.byKey.get(key);
    if (!cls) {
      const ids: string[] = [];
      for (const i of involved) {
        const p = w.policies[i]!;
        if (p.senders.has(me)) for (const r of p.receivers) ids.push(r);
        if (p.receivers.has(me)) for (const x of p.senders) ids.push(x);
      }
      cls = peerListOf(w, ids, '');
      this.byKey.set(key, cls);
    }
    const at = indexOf(cls.identities, me);
    if (at < 0) return cls;
    // A member on its own class's list (a policy with it on both sides): all but itself.
    const cut = <T>(a: T[]): T[] => [...a.slice(0, at), ...a.slice(at + 1)];
    return { identities: cut(cls.identities), list: cut(cls.list), peerIds: cut(cls.peerIds) };
  }
}
