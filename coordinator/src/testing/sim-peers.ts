// One table of peer entries for every simulated agent in a process (sim-map.ts). A bench runs
// thousands of agents in one process, and the maps they hold are mostly the same peers: every
// developer of a team sees the team's servers and the shared services, every server the same
// developers. Each agent decoding its own copy of each peer (and its peer list's text) held
// 2.2 GiB at 10,000 systems, and the garbage collector walking it slowed the very deltas the
// bench times. So identical peers are one object, identical peer lists one array with one
// text, and an agent's held map and text refer to them (the text as a concatenation V8 keeps
// unflattened: its own fields, then the shared peer list's text). A helper holds one map and
// keeps its own structure (src-shared/lib/netmap/delta-apply.ts HeldMap); only what it holds
// is shared here, every agent still checks what it is given as a helper does.
//
// Sharing is safe because nothing modifies a held map's objects: a delta is applied to a copy
// and the held peer list is never changed in place (delta-apply.ts applyMapDelta).
import { createHash } from 'node:crypto';
import { canonicalMapText, type HeldMap, type MapPrefix } from '../../../src-shared/lib/netmap/delta-apply.js';

type Obj = Record<string, unknown>;

/** PeerList is one peer list, its canonical text (`[peer,peer,...]`) and its UTF-8 size. */
export interface PeerList {
  peers: Obj[];
  text: string;
  bytes: number;
}

interface PeerEntry {
  peer: Obj;
  text: string;
  serial: number;
}

/** MAX_IDENTITIES bounds the table of peers: past it the table starts again (the agents keep
 * what they hold); FORMS_PER_IDENTITY bounds the forms kept of one peer (online, then not). */
const MAX_IDENTITIES = 100_000;
const FORMS_PER_IDENTITY = 4;
/** MAX_DEPTH: a peer is an object of strings, booleans and arrays of strings. */
const MAX_DEPTH = 4;

/** The first three fields, which a held map's prefix does not hold (delta-apply.ts). */
const HEAD_FIELDS = 3;

/** PeerTable shares identical peers and peer lists between the agents of one process. */
export class PeerTable {
  /** texts is every shared peer's canonical text, given to each agent's held map as the cache
   * delta-apply.ts keeps (HeldMap.texts), so a delta that changes the peers writes none of them
   * again. Weak: a peer no agent holds any longer goes with its text. */
  readonly texts = new WeakMap<object, string>();
  /** byIdentity holds each identity's latest forms (online, then not, say). */
  private readonly byIdentity = new Map<string, PeerEntry[]>();
  /** lists are keyed by their peers' serials, each by its array, which the agents hold
   * (HeldMap.raw.peers): weakly, so a list no agent holds goes, and its key once collected. */
  private readonly lists = new Map<string, WeakRef<object>>();
  private readonly listOf = new WeakMap<object, PeerList>();
  private readonly collected = new FinalizationRegistry<string>((key) => {
    if (this.lists.get(key)?.deref() === undefined) this.lists.delete(key);
  });
  private serial = 0;

  /** list is the shared list of these peers (decoded JSON objects, compared by their text). */
  list(peers: unknown[]): PeerList {
    const entries = peers.map((p) => this.entry(p));
    const key = entries.map((e) => e.serial).join(',');
    const held = this.lists.get(key)?.deref();
    const known = held === undefined ? undefined : this.listOf.get(held);
    if (known !== undefined) return known;
    // One flat string (an array join), so the agents' texts share it rather than each
    // flattening a concatenation of their own.
    const text = ['[', entries.map((e) => e.text).join(','), ']'].join('');
    const list = { peers: entries.map((e) => e.peer), text, bytes: Buffer.byteLength(text, 'utf8') };
    this.lists.set(key, new WeakRef(list.peers));
    this.listOf.set(list.peers, list);
    this.collected.register(list.peers, key);
    return list;
  }

  // entry is p's entry: one of the same identity whose decoded JSON is the same (compared
  // field by field, cheaper than writing the text of every peer of every map received), or a
  // new one. A peer without an identity is not shared.
  private entry(p: unknown): PeerEntry {
    const id = typeof p === 'object' && p !== null ? (p as Obj).identity : undefined;
    if (typeof id !== 'string') return { peer: p as Obj, text: JSON.stringify(p), serial: this.serial++ };
    let same = this.byIdentity.get(id);
    for (const e of same ?? []) if (sameJson(e.peer, p, 0)) return e;
    if (same === undefined) {
      if (this.byIdentity.size >= MAX_IDENTITIES) this.byIdentity.clear();
      this.byIdentity.set(id, (same = []));
    }
    const text = this.texts.get(p as Obj) ?? JSON.stringify(p);
    const e = { peer: p as Obj, text, serial: this.serial++ };
    this.texts.set(p as Obj, text);
    if (same.push(e) > FORMS_PER_IDENTITY) same.shift();
    return e;
  }
}

/** sameJson says a and b, decoded JSON, are written as the same text by JSON.stringify: the
 * same keys in the same order and the same values. Deeper than MAX_DEPTH counts as not. */
function sameJson(a: unknown, b: unknown, depth: number): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null || depth > MAX_DEPTH) return false;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i++) if (!sameJson(a[i], b[i], depth + 1)) return false;
    return true;
  }
  if (Array.isArray(b)) return false;
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  if (ka.length !== kb.length) return false;
  for (let i = 0; i < ka.length; i++) {
    const k = ka[i]!;
    if (k !== kb[i] || !sameJson((a as Obj)[k], (b as Obj)[k], depth + 1)) return false;
  }
  return true;
}

/** SharedMap is a held map whose peers and text share the table's, and its text. */
export interface SharedMap {
  held: HeldMap;
  text: string;
}

/** fieldsText is the canonical text of raw's fields from..until-1 (no braces), or ''. */
function fieldsText(raw: Obj, keys: string[], from: number, until: number): string {
  const part: Obj = {};
  for (const k of keys.slice(from, until)) part[k] = raw[k];
  return canonicalMapText(part).slice(1, -1);
}

// parts cuts raw's canonical text at its peer list: head (the first three fields and a comma),
// before (the fields from there to the peers, each with its comma), then `"peers":` and the
// list's text, then the tail (`,` and the rest). Null when the peers are not the field just
// before the policies (the cut delta-apply.ts makes its prefix at), so there is no such cut.
function parts(raw: Obj): { head: string; before: string; tail: string } | null {
  const keys = Object.keys(raw).filter((k) => raw[k] !== undefined);
  const at = keys.indexOf('peers');
  if (at <= HEAD_FIELDS || keys[at + 1] !== 'policies' || !Array.isArray(raw.peers)) return null;
  return {
    head: `{${fieldsText(raw, keys, 0, HEAD_FIELDS)},`,
    before: `${fieldsText(raw, keys, HEAD_FIELDS, at)},`,
    tail: `,${fieldsText(raw, keys, at + 1, keys.length)}}`,
  };
}

// sharedPrefix is a prefix (delta-apply.ts MapPrefix) whose text is before, the peers' key and
// the shared list's text, with the SHA-256 state given or, when none is, after those bytes.
function sharedPrefix(before: string, list: PeerList, hash?: MapPrefix['hash']): MapPrefix {
  const text = `${before}"peers":${list.text},`;
  const bytes = Buffer.byteLength(before, 'utf8') + '"peers":'.length + list.bytes + 1;
  return {
    text,
    bytes,
    hash: hash ?? createHash('sha256').update(before, 'utf8').update('"peers":').update(list.text, 'utf8').update(','),
  };
}

/** sharedFullMap is what an agent holds of a full map it was given (raw, its text's JSON.parse;
 * checked by the caller): raw with the shared peer list, and text rebuilt from shared parts.
 * Null unless the text is raw's canonical text, byte for byte (then the caller holds it as
 * delta-apply.ts heldMap does). */
export function sharedFullMap(table: PeerTable, raw: Obj, text: string): SharedMap | null {
  const cut = parts(raw);
  if (cut === null) return null;
  const list = table.list(raw.peers as unknown[]);
  const { head, before, tail } = cut;
  let at = 0;
  for (const piece of [head, before, '"peers":', list.text, tail]) {
    if (!text.startsWith(piece, at)) return null;
    at += piece.length;
  }
  if (at !== text.length) return null;
  const prefix = sharedPrefix(before, list);
  const shared: Obj = { ...raw, peers: list.peers };
  return {
    held: { version: raw.version as number, raw: shared, texts: table.texts, prefix },
    text: head + prefix.text + tail.slice(1),
  };
}

/** sharedDeltaMap re-shares a map a delta made (delta-apply.ts applyMapDelta: raw, text and
 * prefix) when the delta changed its peers: its new list from the table, and its prefix's text
 * from the list's, with the hash state the delta's check already computed over the same bytes
 * (the prefix is raw's canonical text to the peers, each peer written as the table writes it).
 * Null when the map has no such cut or the sizes differ (then the caller holds it as made). */
export function sharedDeltaMap(
  table: PeerTable,
  made: { raw: Obj; text: string; prefix?: MapPrefix },
  version: number,
): SharedMap | null {
  const cut = parts(made.raw);
  if (cut === null || made.prefix === undefined) return null;
  const list = table.list(made.raw.peers as unknown[]);
  const prefix = sharedPrefix(cut.before, list, made.prefix.hash);
  if (prefix.bytes !== made.prefix.bytes) return null;
  const raw: Obj = { ...made.raw, peers: list.peers };
  return {
    held: { version, raw, texts: table.texts, prefix },
    text: cut.head + prefix.text + cut.tail.slice(1),
  };
}
