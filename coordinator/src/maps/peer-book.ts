// Who is whose peer as of the map passes (publisher.ts): what a change to one system must
// recompute besides its own map. A system's peers are noted when a pass computes its map; the
// peer pass leaves the maps of systems without a stream until they ask (flushPeers), so for
// those the book also keeps the changed systems that listed them since: the peers they gained,
// which their own next change must reach as well.

/** PeerBook holds each system's peers as of its last computed map, and what it gained since. */
export class PeerBook {
  /** atPass[id] are the system's peers as of the pass that last computed its map (kept for
   * removed systems until the pass that tells those peers). */
  private readonly atPass = new Map<string, readonly string[]>();
  /** gained[id] are the changed systems whose maps listed id since its own was computed. */
  private readonly gained = new Map<string, Set<string>>();

  /** computed notes the peers of a map a pass just computed. */
  computed(id: string, peers: readonly string[]): void {
    this.atPass.set(id, peers);
    this.gained.delete(id);
  }

  /** before lists the systems whose maps may list id now (its peers before a change of its own). */
  *before(id: string): Iterable<string> {
    yield* this.atPass.get(id) ?? [];
    yield* this.gained.get(id) ?? [];
  }

  /** listedBy notes that changed's newly computed map lists its peers, and returns them. */
  listedBy(changed: string): readonly string[] {
    const peers = this.atPass.get(changed) ?? [];
    for (const p of peers) {
      let by = this.gained.get(p);
      if (!by) this.gained.set(p, (by = new Set()));
      by.add(changed);
    }
    return peers;
  }

  delete(id: string): void {
    this.atPass.delete(id);
    this.gained.delete(id);
  }

  /** keepOnly forgets every system not in live (after a pass that computed every map). */
  keepOnly(live: ReadonlySet<string>): void {
    for (const id of this.atPass.keys()) if (!live.has(id)) this.atPass.delete(id);
    this.gained.clear();
  }
}
