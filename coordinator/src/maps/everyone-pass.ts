// The map pass over every active system (a policy file, a configuration change), run as a
// Sweep (sweep.ts): slice by slice, each slice's deltas signed and handed to their streams when
// it ends (the publisher's inPass seals the slice's batch).
//
// A system without a watch stream gets no map in this pass: nobody would receive it, and at
// 10,000 systems a policy change would otherwise compute, digest and delta maps for every
// helper that is offline. Its map is computed when it asks (a watch opening or GET map: its
// published map is older than the registry's version, publisher.ts current), against the map
// it last got, so it catches up in one delta. Its peers are still noted (the PeerBook), from
// its layout alone: a change of its own later must reach the systems that list it now.
import type { LiveSystem, Registry } from '../store/registry.js';
import type { PeerBook } from './peer-book.js';
import { Sweep, type SweepDone } from './sweep.js';

/** EveryoneHost is what the pass needs of the publisher. */
export interface EveryoneHost {
  registry: Registry;
  peers: PeerBook;
  hasStream(systemId: string): boolean;
  /** refresh computes the system's map, publishing it if it changed. */
  refresh(s: LiveSystem): { peerIds: readonly string[]; changed: boolean };
  /** peerIdsOf lists the system's peers as its map would, without computing the map. */
  peerIdsOf(s: LiveSystem): readonly string[];
  /** inPass runs one slice as a pass (its deltas signed together when it ends). */
  inPass(run: () => void): void;
  /** done hears once, when the last system was stepped: the sweep's figures and how many of
   * the maps computed changed. */
  done(d: SweepDone, changed: number): void;
}

/** everyonePass makes the pass over the given active systems, to start (Sweep.start). */
export function everyonePass(h: EveryoneHost, active: readonly LiveSystem[]): Sweep<LiveSystem> {
  let changed = 0;
  const step = (s: LiveSystem): void => {
    // Revoked or removed since the sweep began: the pass for that change dropped its map.
    if (s.state !== 'active' || h.registry.get(s.id) !== s) return;
    if (!h.hasStream(s.id)) {
      h.peers.computed(s.id, h.peerIdsOf(s));
      return;
    }
    const r = h.refresh(s);
    h.peers.computed(s.id, r.peerIds);
    if (r.changed) changed++;
  };
  return new Sweep(
    active,
    step,
    (run) => h.inPass(run),
    (d) => h.done(d, changed),
  );
}
