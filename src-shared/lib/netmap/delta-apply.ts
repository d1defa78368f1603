// Applying map deltas (src-shared/wire/map-delta.ts). The helper holds the map in force as its
// decoded JSON (field order kept); a delta against that version is applied to a copy, the
// copy's canonical text must hash to the digest the coordinator signed, and only then is it
// parsed and checked field by field like a full map (map-parse.ts). So a helper never holds a
// map the coordinator did not mean, byte for byte, and any mismatch costs a full map, never a
// wrong one. After a delta the helper stores the map's text together with the signed delta:
// the signature covers the digest, the digest covers the text, so the stored map is checked
// again on load like a signed one (store.ts).
//
// A delta that changes neither the peers nor the fields before them (a policy change, most
// often) leaves the text from systemId to the end of the peer list as it was: the SHA-256
// state after that text is kept with the held map (HeldMap.prefix), as the coordinator keeps
// its own (coordinator/src/maps/delta.ts digestContent), so such a delta costs the bytes of
// the fields it sets, not of every peer (a shared service's map lists thousands).
import { createHash, type Hash } from 'node:crypto';
import { CONTROL_LIMITS, CONTROL_PROTOCOL, type NetworkMap, type SignedMap } from '../../wire/control.js';
import type { MapDelta } from '../../wire/map-delta.js';
import { MapFormatError, parseNetworkMap } from './map-parse.js';
import { MapRejected, openSignedMap } from './open.js';
import { DeltaRefused, openSignedDelta } from './delta-parse.js';
import { peerTextsOf } from './peer-texts.js';
import type { StoredMap } from './open.js';

type Obj = Record<string, unknown>;

/** HeldMap is the map in force as decoded JSON, which deltas apply to. texts keeps the JSON
 * text of peer objects already written (or cut from the map's own text, peer-texts.ts): a delta
 * keeps the peers it does not change as the same objects, so the next map's text costs a join of
 * kept strings plus the changed peers, not a JSON.stringify of every peer (thousands, for a
 * shared service). */
export interface HeldMap {
  version: number;
  raw: Obj;
  texts?: WeakMap<object, string>;
  /** prefix is the canonical text after the first three fields up to and including the peer
   * list and its comma, its UTF-8 size and the SHA-256 state after it (copied, never finished). */
  prefix?: MapPrefix;
  /** map is raw as parseNetworkMap checked it, when known: a delta that keeps the peer list
   * keeps its checked peers too, rather than checking thousands of them again. */
  map?: NetworkMap;
}

/** MapPrefix is a held map's text before its policies, and the hash state after it. */
export interface MapPrefix {
  text: string;
  bytes: number;
  hash: Hash;
}

/** HEAD_FIELDS are the first three fields, which the digest does not cover; TAIL_FROM is the
 * first field after the peers (map-delta.ts MAP_CANONICAL order). */
const HEAD_FIELDS = 3;
const TAIL_FROM = 'policies';

// sortedObjectText writes an object with its keys in ascending order: routes and routeGrants
// are keyed by identity, and a JSON parser puts keys that look like integers (an identity may
// be 5 digits) first, so their order is the one field order that is not kept by decoding.
function sortedObjectText(o: Obj): string {
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${JSON.stringify(o[k])}`).join(',')}}`;
}

// peersText writes the peer list, each peer's text from texts when it was written before.
function peersText(peers: unknown[], texts: WeakMap<object, string>): string {
  const out: string[] = new Array(peers.length);
  for (let i = 0; i < peers.length; i++) {
    const p = peers[i];
    if (typeof p !== 'object' || p === null) {
      out[i] = JSON.stringify(p);
      continue;
    }
    let t = texts.get(p);
    if (t === undefined) texts.set(p, (t = JSON.stringify(p)));
    out[i] = t;
  }
  return `[${out.join(',')}]`;
}

/** fieldsOf are a decoded map's keys in its field order, those whose value is undefined left
 * out (JSON.stringify leaves them out). Read once per map made: each walk of Object.entries
 * allocates a pair per field, and a delta's text needs the order three times. */
function fieldsOf(raw: Obj): string[] {
  const keys = Object.keys(raw);
  for (const k of keys) if (raw[k] === undefined) return keys.filter((key) => raw[key] !== undefined);
  return keys;
}

/** fieldText is one field's `"key":value` text (canonicalMapText). */
function fieldText(raw: Obj, k: string, texts?: WeakMap<object, string>): string {
  const v = raw[k];
  const sorted = (k === 'routes' || k === 'routeGrants') && typeof v === 'object' && v !== null && !Array.isArray(v);
  const text =
    k === 'peers' && texts !== undefined && Array.isArray(v)
      ? peersText(v, texts)
      : sorted
        ? sortedObjectText(v as Obj)
        : JSON.stringify(v);
  return `${JSON.stringify(k)}:${text}`;
}

/** fieldTexts are the `"key":value` texts of fields [from, until) of keys (fieldsOf), joined by
 * commas. */
function fieldTexts(
  raw: Obj,
  keys: readonly string[],
  texts?: WeakMap<object, string>,
  from = 0,
  until = keys.length,
): string {
  let out = '';
  for (let i = from; i < until && i < keys.length; i++)
    out += (i === from ? '' : ',') + fieldText(raw, keys[i]!, texts);
  return out;
}

/** headText is a map's text up to the end of its first three fields, as the coordinator writes
 * it (netmap.ts mapPayload); the digest a delta carries covers what follows. */
function headText(version: unknown, generatedAt: unknown): string {
  return `{"protocol":${CONTROL_PROTOCOL},"version":${version as number},"generatedAt":${generatedAt as number},`;
}

/** headOf is headText of a map whose first three fields are the protocol, version and
 * generatedAt, as numbers whose JSON is their decimal text (the only form the coordinator
 * writes); null otherwise. */
function headOf(raw: Obj, keys: readonly string[]): string | null {
  const { version, generatedAt } = raw;
  if (keys[0] !== 'protocol' || keys[1] !== 'version' || keys[2] !== 'generatedAt') return null;
  if (raw.protocol !== CONTROL_PROTOCOL || !Number.isFinite(version) || !Number.isFinite(generatedAt)) return null;
  return headText(version, generatedAt);
}

/** canonicalMapText is a decoded map's canonical text (map-delta.ts MAP_CANONICAL); texts, when
 * given, caches the peers' texts (HeldMap.texts). */
export function canonicalMapText(raw: Obj, texts?: WeakMap<object, string>): string {
  return `{${fieldTexts(raw, fieldsOf(raw), texts)}}`;
}

/** contentDigest is the hex SHA-256 of a map's text after its first three fields (the digest a
 * delta carries), or null when the text does not start with them. */
function contentDigest(text: string, version: unknown, generatedAt: unknown): string | null {
  const head = headText(version, generatedAt);
  return text.startsWith(head) ? sha256Hex(text.slice(head.length)) : null;
}

function parsedMap(raw: Obj, systemId: string): NetworkMap {
  let map: NetworkMap;
  try {
    map = parseNetworkMap(raw);
  } catch (e) {
    throw new MapRejected(e instanceof MapFormatError ? `malformed map: ${e.message}` : 'malformed map');
  }
  if (map.systemId !== systemId)
    throw new MapRejected(`the map is for system ${map.systemId}, not this one (${systemId})`);
  return map;
}

/** checkedMap is parsedMap of a delta's result; when the delta kept the held peer list (the
 * same array) and the held map's checked form is known, only the rest is checked and the
 * checked peers are kept: the peers parsed alone would give the same (the fields they are
 * checked against, self's identity and virtualNetwork6, come before the peers in the text and
 * are not changed by such a delta), and a policy change should not cost a map's worth. */
function checkedMap(raw: Obj, systemId: string, held: HeldMap): NetworkMap {
  if (
    held.map === undefined ||
    raw.peers !== held.raw.peers ||
    raw.self !== held.raw.self ||
    raw.virtualNetwork6 !== held.raw.virtualNetwork6
  )
    return parsedMap(raw, systemId);
  const map = parsedMap({ ...raw, peers: [] }, systemId);
  map.peers = held.map.peers;
  return map;
}

// byIdentity orders peers as the coordinator does (ascending identity, UTF-16 order).
function byIdentity(a: Obj, b: Obj): number {
  const x = a.identity as string;
  const y = b.identity as string;
  return x < y ? -1 : x > y ? 1 : 0;
}

/** applyMapDelta applies a parsed delta to the held map and returns the new map's decoded JSON
 * and canonical text; it refuses (needFull) a delta against another version or whose result
 * does not hash to its digest. */
export function applyMapDelta(
  held: HeldMap,
  delta: MapDelta,
): { raw: Obj; text: string; texts: WeakMap<object, string>; prefix?: MapPrefix; bytes: number } {
  if (delta.baseVersion !== held.version)
    throw new DeltaRefused(
      `the delta is against map version ${delta.baseVersion}, this helper holds ${held.version}`,
      true,
    );
  const before = held.raw.peers;
  if (!Array.isArray(before)) throw new DeltaRefused('the held map has no peer list', true);
  const kept = keptPrefix(held, delta);
  // Assigning fields the copy already has keeps their places, so the text keeps the order.
  const raw: Obj = { ...held.raw };
  raw.version = delta.version;
  raw.generatedAt = delta.generatedAt;
  // With the prefix kept no peer changes: the held list (never modified in place) is the new
  // one, as its text in the prefix is, so a policy change does not walk or sort the peers.
  if (kept === undefined) raw.peers = mergedPeers(before as Obj[], delta);
  for (const [k, v] of Object.entries(delta.set)) raw[k] = v;
  const seeded = kept === undefined ? cutPeerTexts(held, before) : null;
  let texts = seeded ?? held.texts ?? new WeakMap<object, string>();
  let made = digestedText(raw, texts, kept);
  // The texts cut from the held map's own text stand for JSON.stringify of its peers; where they
  // do not (a text that was not canonical), the peers are written again before the delta is
  // refused, so the cut can cost a rewrite but never a refusal.
  if (made.digest !== delta.digest && seeded !== null) {
    texts = new WeakMap<object, string>();
    made = digestedText(raw, texts, kept);
  }
  if (made.digest !== delta.digest)
    throw new DeltaRefused(`the map made by the delta to version ${delta.version} does not match its digest`, true);
  return { raw, text: made.text, texts, prefix: made.prefix, bytes: made.bytes };
}

/** cutPeerTexts is a new texts map holding the held peers' texts cut from the held prefix
 * (peer-texts.ts), when the peers have no texts yet (a map held since a full map); else null. */
function cutPeerTexts(held: HeldMap, peers: unknown[]): WeakMap<object, string> | null {
  const first = peers[0];
  if (held.prefix === undefined || typeof first !== 'object' || first === null || held.texts?.has(first)) return null;
  const cut = peerTextsOf(held.prefix.text);
  if (cut === null || cut.length !== peers.length) return null;
  const texts = new WeakMap<object, string>();
  for (let i = 0; i < peers.length; i++) {
    const p = peers[i];
    if (typeof p === 'object' && p !== null) texts.set(p, cut[i]!);
  }
  return texts;
}

/** mergedPeers is the held peer list less the removed peers, with the delta's peers in place of
 * (or besides) the held ones of the same identity, in the coordinator's order. */
function mergedPeers(before: Obj[], delta: MapDelta): Obj[] {
  const gone = new Set(delta.removed);
  const up = new Map(delta.peers.map((p) => [p.identity, p as unknown as Obj]));
  const peers: Obj[] = [];
  for (const p of before) {
    const id = p.identity as string;
    if (gone.has(id)) continue;
    const next = up.get(id);
    up.delete(id);
    peers.push(next ?? p);
  }
  for (const p of up.values()) peers.push(p);
  return peers.sort(byIdentity);
}

/** deltaKeepsPrefix says whether applying delta to held reuses held's prefix (keptPrefix): it
 * neither reads nor rewrites the held peer list. */
export function deltaKeepsPrefix(held: HeldMap, delta: MapDelta): boolean {
  return keptPrefix(held, delta) !== undefined;
}

/** keptPrefix is the held map's prefix when the delta leaves it as it is: no peer added,
 * changed or removed, and only fields after the peers set. */
function keptPrefix(held: HeldMap, delta: MapDelta): MapPrefix | undefined {
  if (held.prefix === undefined || delta.peers.length > 0 || delta.removed.length > 0) return undefined;
  const keys = Object.keys(held.raw);
  const from = keys.indexOf(TAIL_FROM);
  if (from < 0) return undefined;
  for (const k of Object.keys(delta.set)) if (keys.indexOf(k) < from) return undefined;
  return held.prefix;
}

/** digestedText makes a decoded map's canonical text and the hex digest a delta carries (the
 * SHA-256 of the text after the first three fields), from kept's hash state when given; the
 * text is joined from the prefix's and the tail's (a string join, not a copy, until read). */
function digestedText(
  raw: Obj,
  texts: WeakMap<object, string>,
  kept: MapPrefix | undefined,
): { text: string; digest: string | null; prefix: MapPrefix | undefined; bytes: number } {
  const keys = fieldsOf(raw);
  const head = headOf(raw, keys);
  const split = keys.indexOf(TAIL_FROM);
  if (head === null || split <= HEAD_FIELDS) {
    const text = `{${fieldTexts(raw, keys, texts)}}`;
    const digest = contentDigest(text, raw.version, raw.generatedAt);
    return { text, digest, prefix: undefined, bytes: Buffer.byteLength(text, 'utf8') };
  }
  let prefix = kept;
  if (prefix === undefined) {
    const text = `${fieldTexts(raw, keys, texts, HEAD_FIELDS, split)},`;
    prefix = { text, bytes: Buffer.byteLength(text, 'utf8'), hash: createHash('sha256').update(text, 'utf8') };
  }
  const tail = `${fieldTexts(raw, keys, texts, split)}}`;
  const digest = prefix.hash.copy().update(tail, 'utf8').digest('hex');
  const bytes = Buffer.byteLength(head, 'utf8') + prefix.bytes + Buffer.byteLength(tail, 'utf8');
  return { text: head + prefix.text + tail, digest, prefix, bytes };
}

/** heldMap is what a helper holds of a map it was given whole (a signed full map, or a stored
 * map a delta made, its text checked against the signed digest): raw, the text's JSON.parse,
 * and the prefix state read from the text itself, so the first delta after a full map costs
 * its own bytes too, not a JSON.stringify of every peer. */
export function heldMap(raw: Obj, text: string): HeldMap {
  return { version: raw.version as number, raw, prefix: prefixOfText(raw, text) };
}

// A map's text with no such key in its middle cannot hold the head's fields twice: a second
// "version" there would decode over the first, and outlive the head a delta rewrites. JSON
// escapes could spell such a key another way (\u0076ersion), so a middle with one is not used.
const NOT_IN_MIDDLE = ['"version"', '"generatedAt"', '\\u'];

/** prefixOfText is a held map's prefix cut from its text, or undefined when the text is not
 * head, middle, tail: the head's three fields as raw has them, then text the cut keeps whole,
 * then the canonical text of raw's fields from TAIL_FROM on. The text parsed to raw, and the
 * tail (complete fields, the last ones) follows a comma at the top level, so the middle holds
 * exactly raw's fields before the tail: a delta that sets only tail fields makes head', middle,
 * tail', which parses to the map it makes. */
function prefixOfText(raw: Obj, text: string): MapPrefix | undefined {
  const keys = fieldsOf(raw);
  const split = keys.indexOf(TAIL_FROM);
  if (split <= HEAD_FIELDS || keys.indexOf('peers') > split) return undefined;
  const head = headOf(raw, keys);
  if (head === null || !text.startsWith(head)) return undefined;
  const tail = `${fieldTexts(raw, keys, undefined, split)}}`;
  const end = text.length - tail.length;
  if (end <= head.length || text.charCodeAt(end - 1) !== 0x2c || !text.endsWith(tail)) return undefined;
  const middle = text.slice(head.length, end);
  if (NOT_IN_MIDDLE.some((k) => middle.includes(k))) return undefined;
  return { text: middle, bytes: Buffer.byteLength(middle, 'utf8'), hash: createHash('sha256').update(middle, 'utf8') };
}

function sha256Hex(text: string): string {
  return createHash('sha256').update(text, 'utf8').digest('hex');
}

/** DeltaTaken is a map made by a delta: the map, what to hold and what to store. */
export interface DeltaTaken {
  map: NetworkMap;
  held: HeldMap;
  stored: StoredMap;
}

/** takeSignedDelta verifies a signed delta, applies it to held and checks the result; null
 * for a delta no newer than the map in force (a late one), which is dropped. */
export function takeSignedDelta(
  signed: unknown,
  coordinatorKey: Buffer,
  systemId: string,
  held: HeldMap | null,
): DeltaTaken | null {
  const delta = openSignedDelta(signed, coordinatorKey, systemId);
  if (held !== null && delta.version <= held.version) return null;
  if (held === null) throw new DeltaRefused('a map delta arrived before any map', true);
  const { raw, text, texts, prefix } = applyMapDelta(held, delta);
  const map = checkedMap(raw, systemId, held);
  const payload = Buffer.from(text, 'utf8').toString('base64');
  return {
    map,
    held: { version: delta.version, raw, texts, prefix, map },
    stored: { payload, signature: '', delta: signed as SignedMap },
  };
}

/** openHeldMap opens a map as received or stored: a signed full map (netmap.ts openSignedMap),
 * or a map a delta made, stored with that delta, whose text must hash to the signed digest. */
export function openHeldMap(
  m: StoredMap,
  coordinatorKey: Buffer,
  systemId: string,
  minVersion: number,
): { map: NetworkMap; held: HeldMap } {
  if (m.delta === undefined) {
    const map = openSignedMap(m, coordinatorKey, systemId, minVersion);
    const text = Buffer.from(m.payload, 'base64').toString('utf8');
    return { map, held: { ...heldMap(JSON.parse(text) as Obj, text), map } };
  }
  const delta = openSignedDelta(m.delta, coordinatorKey, systemId);
  if (m.payload.length > CONTROL_LIMITS.mapBytes * 2) throw new MapRejected('the stored map is too large');
  const text = Buffer.from(m.payload, 'base64').toString('utf8');
  if (contentDigest(text, delta.version, delta.generatedAt) !== delta.digest)
    throw new MapRejected('the stored map does not match the digest of the signed delta that made it');
  const raw = JSON.parse(text) as Obj;
  const map = parsedMap(raw, systemId);
  if (map.version < minVersion)
    throw new MapRejected(`map version ${map.version} is older than the one in force (${minVersion})`);
  return { map, held: { ...heldMap(raw, text), map } };
}
