// The registry's in-memory indexes of its systems (registry.ts): by id, by either public key, by
// owner, and what live (not revoked) systems hold: identities, addresses and names. Every lookup
// an enrolment or a retag makes is one map access, whatever the size of the network.
import type { LiveSystem } from './registry-types.js';

/** SystemIndex keeps the indexes in step: add after a system is stored or changed, unindex
 * before it changes, drop when it is gone. */
export class SystemIndex {
  readonly systems = new Map<string, LiveSystem>();
  readonly byWgKey = new Map<string, LiveSystem>();
  readonly byMachineKey = new Map<string, LiveSystem>();
  readonly liveIdentity = new Map<string, LiveSystem>();
  readonly liveAddress = new Set<number>();
  readonly liveName = new Set<string>();
  /** owned[userId] are the systems a user enrolled by signing in (SystemRow.ownerId). */
  private readonly owned = new Map<string, Set<LiveSystem>>();

  /** add indexes s as it is now (a new system, or one unindexed before it changed). */
  add(s: LiveSystem): void {
    this.systems.set(s.id, s);
    this.byWgKey.set(s.wgKey, s);
    this.byMachineKey.set(s.machineKey, s);
    if (s.state !== 'revoked') {
      this.liveIdentity.set(s.identity, s);
      this.liveAddress.add(s.address);
      this.liveName.add(s.name);
    }
    if (s.ownerId) {
      let set = this.owned.get(s.ownerId);
      if (!set) this.owned.set(s.ownerId, (set = new Set()));
      set.add(s);
    }
  }

  /** unindex takes out what may change with s's fields (its live holdings, its owner). */
  unindex(s: LiveSystem): void {
    if (this.liveIdentity.get(s.identity) === s) this.liveIdentity.delete(s.identity);
    if (s.state !== 'revoked') {
      this.liveAddress.delete(s.address);
      this.liveName.delete(s.name);
    }
    if (s.ownerId) {
      const set = this.owned.get(s.ownerId);
      set?.delete(s);
      if (set?.size === 0) this.owned.delete(s.ownerId);
    }
  }

  /** drop forgets s entirely (a deleted system). */
  drop(s: LiveSystem): void {
    this.unindex(s);
    this.systems.delete(s.id);
    this.byWgKey.delete(s.wgKey);
    this.byMachineKey.delete(s.machineKey);
  }

  /** ownedBy lists the systems userId enrolled, revoked ones included, oldest first (as the
   * store lists them), whatever order their changes re-indexed them in. */
  ownedBy(userId: string): LiveSystem[] {
    return [...(this.owned.get(userId) ?? [])].sort(
      (a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0),
    );
  }

  /** owners lists the ids of the users who own systems. */
  owners(): string[] {
    return [...this.owned.keys()];
  }
}
