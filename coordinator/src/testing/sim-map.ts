// SimMap: the map a simulated agent holds (agent-sim.ts), kept current from its watch stream's
// `map` and `delta` events as a helper does (src-shared/lib/netmap/delta-apply.ts): a delta is
// applied only to the version held and only if the result hashes to its signed digest. The
// map is kept as its canonical text and, decoded, only as far as a delta needs: a policy change
// leaves the peer list as it is (its text and hash state are kept, delta-apply.ts MapPrefix), so
// the peers are decoded only when a delta changes them. A helper holds one map; the bench holds
// 10,000 in one process, where the decoded peer lists took 4.1 GiB of heap, against 1.0 to 1.4
// GiB without them (docs/coordinator.md). Signatures are checked when the caller asks (verify),
// so a bench pays for them where a helper would: on the maps it measures.
import { CONTROL_PROTOCOL, type SignedMap } from '../../../src-shared/wire/control.js';
import { applyMapDelta, deltaKeepsPrefix, heldMap, type HeldMap } from '../../../src-shared/lib/netmap/delta-apply.js';
import { openSignedDelta, parseMapDelta } from '../../../src-shared/lib/netmap/delta-parse.js';
import type { SimAgent } from './agent-sim.js';

/** VERIFIED are the batch signatures already checked (delta-parse.ts openSignedDelta): one
 * pass signs every agent's delta with one, which each real helper checks once on its own CPU,
 * so the simulated agents, sharing one process, check it once between them. */
const VERIFIED = new Set<string>();

/** UNREAD_PEERS stands for a held peer list left undecoded: an array, as applyMapDelta asks of
 * the peers it carries over, and frozen, since nothing may fill it. */
const UNREAD_PEERS: readonly unknown[] = Object.freeze([]);

/** unread is held with its peer list replaced by UNREAD_PEERS, when its prefix (which holds the
 * peers' text) lets a delta do without them; held as it is otherwise. */
function unread(held: HeldMap): HeldMap {
  if (held.prefix === undefined || held.raw.peers === UNREAD_PEERS) return held;
  return { ...held, raw: { ...held.raw, peers: UNREAD_PEERS } };
}

/** Taken says what one event did: the version now held, whether it came as a delta, the
 * event's bytes, and what the full map of that version would have cost on the stream. */
export interface Taken {
  version: number;
  delta: boolean;
  bytes: number;
  fullBytes: number;
}

/** fullFrameBytes is the size of a full map's SSE event for a payload of n bytes. */
export function fullFrameBytes(n: number): number {
  // event line, {"type":"map","map":{"payload":"...","signature":"<88>"}}, blank line
  return 'event: map\ndata: {"type":"map","map":{"payload":"","signature":""}}\n\n'.length + Math.ceil(n / 3) * 4 + 88;
}

/** SimMap holds one agent's map. */
export class SimMap {
  version = 0;
  text = '';
  /** refused counts deltas that did not fit (another base, or a digest mismatch). */
  refused = 0;
  /** held is the decoded map deltas apply to, as the helper keeps it (delta-apply.ts), but for
   * its peer list: UNREAD_PEERS while the prefix stands for it. */
  private held: HeldMap | null = null;
  /** key is the pinned coordinator key, decoded once (the agent pins it at enrolment). */
  private key: Buffer | null = null;

  constructor(private readonly agent: SimAgent) {}

  /** take handles a watch event's data; null for events that carry no map (or a late one). */
  take(event: string, data: string, verify: boolean): Taken | null {
    if (event === 'map') {
      const signed = (JSON.parse(data) as { map: SignedMap }).map;
      const text = Buffer.from(signed.payload, 'base64').toString('utf8');
      const raw = (verify ? this.agent.verify(signed) : JSON.parse(text)) as unknown as Record<string, unknown>;
      if (typeof raw.version !== 'number') throw new Error('a map without a version');
      this.version = raw.version;
      this.text = text;
      // Held as a helper holds it (delta-apply.ts heldMap): the next delta starts from here.
      this.held = unread(heldMap(raw, text));
      return { version: this.version, delta: false, bytes: data.length, fullBytes: data.length };
    }
    if (event !== 'delta') return null;
    const signed = (JSON.parse(data) as { delta: SignedMap }).delta;
    if (VERIFIED.size > 10_000) VERIFIED.clear();
    const key = (this.key ??= Buffer.from(this.agent.coordinatorPublicKey, 'base64'));
    const delta = verify
      ? openSignedDelta(signed, key, this.agent.systemId, VERIFIED)
      : parseMapDelta(JSON.parse(Buffer.from(signed.payload, 'base64').toString('utf8')));
    if (delta.systemId !== this.agent.systemId) throw new Error(`a delta for ${delta.systemId}`);
    if (delta.version <= this.version) return null;
    if (delta.baseVersion !== this.version || delta.protocol !== CONTROL_PROTOCOL) {
      this.refused++;
      return null;
    }
    let held = this.held ?? { version: this.version, raw: JSON.parse(this.text) as Record<string, unknown> };
    // A delta that changes the peers merges them into the held ones: decode them from the text
    // (the same field, in the same place, so the map's field order is kept).
    if (held.raw.peers === UNREAD_PEERS && !deltaKeepsPrefix(held, delta))
      held = { ...held, raw: { ...held.raw, peers: (JSON.parse(this.text) as { peers: unknown }).peers } };
    const next = applyMapDelta(held, delta);
    this.text = next.text;
    this.version = delta.version;
    this.held = unread({ version: delta.version, raw: next.raw, texts: next.texts, prefix: next.prefix });
    return { version: this.version, delta: true, bytes: data.length, fullBytes: fullFrameBytes(next.bytes) };
  }
}
