// SimMap: the map a simulated agent holds (agent-sim.ts), kept current from its watch stream's
// `map` and `delta` events as a helper does (src-shared/lib/netmap/delta-apply.ts): a delta is
// applied only to the version held and only if the result hashes to its signed digest. The
// map is kept as its canonical text and, decoded, only as far as a delta needs: a policy change
// leaves the peer list as it is (its text and hash state are kept, delta-apply.ts MapPrefix), so
// the peers are read only when a delta changes them. A helper holds one map; the bench holds
// 10,000 in one process, where the decoded peer lists took 4.1 GiB of heap, against 1.0 to 1.4
// GiB without them (docs/coordinator.md). Such a delta reads them as their texts, cut from the
// prefix (peer-texts.ts), each standing for its peer with only its identity: decoding them all
// and writing each again, which a helper holding its map does not do, took the bench's join
// (a shared service's map lists 9,000 peers) from about 0.7 s to 1.0-1.7 s. Signatures are checked
// when the caller asks (verify), so a bench pays for them where a helper would: on the maps it
// measures.
import { CONTROL_PROTOCOL, type SignedMap } from '../../../src-shared/wire/control.js';
import {
  applyMapDelta,
  deltaKeepsPrefix,
  heldMap,
  type HeldMap,
  type MapPrefix,
} from '../../../src-shared/lib/netmap/delta-apply.js';
import { peerTextsOf } from '../../../src-shared/lib/netmap/peer-texts.js';
import { ProvenNodes } from '../../../src-shared/lib/merkle.js';
import { openSignedDelta, parseMapDelta } from '../../../src-shared/lib/netmap/delta-parse.js';
import type { SimAgent } from './agent-sim.js';

/** PROVEN are the batch trees' nodes already proven (delta-parse.ts openSignedDelta): one pass
 * signs every agent's delta with a few signatures, each over a tree of up to a slice of them,
 * which each real helper checks on its own CPU, so the simulated agents, sharing one process,
 * check each signature once between them, and each path up to the first node another's proved. */
const PROVEN = new ProvenNodes();

/** UNREAD_PEERS stands for a held peer list left undecoded: an array, as applyMapDelta asks of
 * the peers it carries over, and frozen, since nothing may fill it. */
const UNREAD_PEERS: readonly unknown[] = Object.freeze([]);

/** unread is held with its peer list replaced by UNREAD_PEERS, when its prefix (which holds the
 * peers' text) lets a delta do without them; held as it is otherwise. */
function unread(held: HeldMap): HeldMap {
  if (held.prefix === undefined || held.raw.peers === UNREAD_PEERS) return held;
  return { ...held, raw: { ...held.raw, peers: UNREAD_PEERS } };
}

/** IDENTITY_FIRST reads a peer's identity from its canonical text, where it is the first field. */
const IDENTITY_FIRST = /^\{"identity":"([0-9A-Z]{1,64})"/;

/** readPeers is held with its peer list read back for a delta that merges into it: each peer
 * an object holding its identity (what the merge and the order read), its text the one cut from
 * the prefix (held.texts). The map the delta makes must still hash to its signed digest. Where
 * the prefix does not cut, the list is decoded from it (the same field, in the same place, so
 * the map's field order is kept). */
function readPeers(held: HeldMap, prefix: MapPrefix): HeldMap {
  const cut = peerTextsOf(prefix.text);
  if (cut === null) {
    const peers = (JSON.parse(`{${prefix.text.slice(0, -1)}}`) as { peers: unknown }).peers;
    return { ...held, raw: { ...held.raw, peers } };
  }
  const texts = new WeakMap<object, string>();
  const peers = cut.map((text) => {
    const identity = IDENTITY_FIRST.exec(text)?.[1] ?? (JSON.parse(text) as { identity?: unknown }).identity;
    const peer = { identity };
    texts.set(peer, text);
    return peer;
  });
  return { ...held, raw: { ...held.raw, peers }, texts };
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

  /** lists says whether the map held lists a peer of that identity: from the decoded peers, or
   * the peer list's text (its prefix), not the whole text, which joining costs a copy of. */
  lists(identity: string): boolean {
    const peers = this.held?.raw.peers;
    if (Array.isArray(peers) && peers !== UNREAD_PEERS)
      return peers.some((p) => (p as { identity?: unknown }).identity === identity);
    const text = this.held?.prefix?.text ?? this.text;
    return identity !== this.agent.identity && text.includes(`"identity":${JSON.stringify(identity)}`);
  }

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
    const key = (this.key ??= Buffer.from(this.agent.coordinatorPublicKey, 'base64'));
    const delta = verify
      ? openSignedDelta(signed, key, this.agent.systemId, PROVEN)
      : parseMapDelta(JSON.parse(Buffer.from(signed.payload, 'base64').toString('utf8')));
    if (delta.systemId !== this.agent.systemId) throw new Error(`a delta for ${delta.systemId}`);
    if (delta.version <= this.version) return null;
    if (delta.baseVersion !== this.version || delta.protocol !== CONTROL_PROTOCOL) {
      this.refused++;
      return null;
    }
    let held = this.held ?? { version: this.version, raw: JSON.parse(this.text) as Record<string, unknown> };
    if (held.raw.peers === UNREAD_PEERS && held.prefix !== undefined && !deltaKeepsPrefix(held, delta))
      held = readPeers(held, held.prefix);
    const next = applyMapDelta(held, delta);
    this.text = next.text;
    this.version = delta.version;
    this.held = unread({ version: delta.version, raw: next.raw, texts: next.texts, prefix: next.prefix });
    return { version: this.version, delta: true, bytes: data.length, fullBytes: fullFrameBytes(next.bytes) };
  }
}
