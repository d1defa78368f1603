// Map deltas (src-shared/wire/map-delta.ts): what a system's next map changes against the one it
// holds. The coordinator keeps per system only a compact basis of its last map (the version,
// its peers' identities, which the layout cache shares, and an 8-byte digest per top-level
// part), never the map's text, so memory stays bounded at thousands of systems. Which peers
// changed comes from the MapBuilder: each peer's JSON is the same for every recipient and knows
// the version at which it last changed, so a recipient's delta costs a walk over its peer list
// (two sorted lists merged) plus the bytes of what changed, not a comparison of map texts.
import { createHash, hash, type Hash } from 'node:crypto';
import { CONTROL_PROTOCOL } from '../../../src-shared/wire/control.js';
import { MAP_DELTA_SIGNATURE_CONTEXT } from '../../../src-shared/wire/map-delta.js';
import type { MapContent } from './netmap.js';
import type { SigningKey } from '../auth/signing.js';

/** PART_BYTES is how much of each part's SHA-256 the basis keeps: enough to tell a change
 * (a collision would only leave a part out, and the helper's check of the whole map's digest
 * would then refuse the delta and fetch the full map). */
const PART_BYTES = 8;
/** PARTS are the parts digested, in this order: `head` changes force a full map. */
const PARTS = ['self', 'head', 'policies', 'routes', 'routeGrants'] as const;

/** MapBasis is what a delta is computed against: the system's map as it was published. */
export interface MapBasis {
  version: number;
  identities: readonly string[];
  parts: Buffer;
}

/** shared remembers the digests of the last few part texts that many maps share (the head,
 * and routes and routeGrants, `{}` in most maps), so each costs one hash per pass, not one
 * per map. */
const shared = new Map<string, Buffer>();

function partDigest(text: string, share: boolean): Buffer {
  const known = share ? shared.get(text) : undefined;
  if (known) return known;
  // One-shot: a Hash object per part cost more than hashing the part (profiled).
  const d = hash('sha256', text, 'buffer');
  if (share) {
    if (shared.size >= 64) shared.clear();
    shared.set(text, d);
  }
  return d;
}

/** partDigests digests each part of a map's content (PARTS order). self comes digested, and
 * policies as its class template's digest where it has one (netmap.ts, policy-texts.ts): the
 * digests only tell a system's maps apart, so they need not be of the text itself. */
export function partDigests(c: MapContent): Buffer {
  const out = Buffer.allocUnsafe(PARTS.length * PART_BYTES);
  PARTS.forEach((p, i) => {
    const d =
      p === 'self'
        ? c.selfDigest
        : p === 'policies' && c.policiesDigest !== null
          ? c.policiesDigest
          : partDigest(c[p], p === 'head' || c[p].length <= 2);
    // Byte by byte in JS: a Buffer.copy of 8 bytes is a native call with argument checks,
    // which cost more than the rest of the part digests in a pass at 10,000 (profiled).
    for (let b = 0, at = i * PART_BYTES; b < PART_BYTES; b++) out[at + b] = d[b]!;
  });
  return out;
}

/** sameBytes compares a range of two short buffers in JS: a Buffer.compare or equals is a
 * native call each, which cost more than the passes' whole content digests (profiled at 10,000:
 * several per map). */
export function sameBytes(a: Uint8Array, b: Uint8Array, from = 0, to = Math.max(a.length, b.length)): boolean {
  if (to > a.length || to > b.length) return false;
  for (let i = from; i < to; i++) if (a[i] !== b[i]) return false;
  return true;
}

function partChanged(a: Buffer, b: Buffer, i: number): boolean {
  return !sameBytes(a, b, i * PART_BYTES, (i + 1) * PART_BYTES);
}

/** sameHead tells whether two basis' self and head parts are alike: with the same peers, the
 * text before the policies is then the same (netmap.ts MapContent.prefix). */
export function sameHead(a: Buffer, b: Buffer): boolean {
  return !partChanged(a, b, PARTS.indexOf('self')) && !partChanged(a, b, PARTS.indexOf('head'));
}

/** sameLists remembers, per list a basis holds, the last list found equal to it: after a
 * policy change every class gets a new (equal) peer list, compared once per class, not once
 * per member. */
const sameLists = new WeakMap<readonly string[], readonly string[]>();

function sameIdentities(old: readonly string[], now: readonly string[]): boolean {
  if (old === now || sameLists.get(old) === now) return true;
  if (old.length !== now.length) return false;
  for (let i = 0; i < now.length; i++) if (old[i] !== now[i]) return false;
  sameLists.set(old, now);
  return true;
}

/** peersUnchanged tells whether c lists the basis's peers, none of them changed since it (the
 * same test peerChanges makes, without rendering anything). */
export function peersUnchanged(base: MapBasis, c: MapContent): boolean {
  return sameIdentities(base.identities, c.identities) && c.peersChangedAt <= base.version;
}

/** DigestBasis is what digestContent reuses of the map published before. */
export interface DigestBasis extends MapBasis {
  prefix: Hash;
  prefixBytes: number;
}

/** digestContent digests a map's content. The text before the policies (self, head, peers) is
 * hashed once and its SHA-256 state kept with the map: a later content with the same prefix
 * (same self, head and peers, none changed since: a policy change, most often) is digested
 * from a copy of that state plus its tail, so it costs the bytes of the policies, not of the
 * thousands of peers a shared service lists, and the map's text is never joined. */
export function digestContent(
  before: DigestBasis | undefined,
  content: MapContent,
  parts: Buffer,
): { digest: string; prefix: Hash; prefixBytes: number } {
  let prefix: Hash;
  let prefixBytes: number;
  if (before && sameHead(before.parts, parts) && peersUnchanged(before, content)) {
    prefix = before.prefix;
    prefixBytes = before.prefixBytes;
  } else {
    // The peers' part comes as bytes shared by the maps listing the same peers: hashed as they
    // are, not joined into this map's text and encoded again.
    const [start, peers] = content.prefixParts();
    prefix = createHash('sha256').update(start, 'utf8').update(peers);
    prefixBytes = Buffer.byteLength(start, 'utf8') + peers.length;
  }
  return { digest: prefix.copy().update(content.tail, 'utf8').digest('hex'), prefix, prefixBytes };
}

/** DeltaInput is a new map and what the delta needs to know of it. */
export interface DeltaInput {
  systemId: string;
  version: number;
  generatedAt: number;
  /** digest is the new map's SHA-256, hex. */
  digest: string;
  content: MapContent;
  parts: Buffer;
  /** changedAt tells the version at which a peer's JSON (by system id) last changed. */
  changedAt: (systemId: string) => number;
}

/** PeerChanges: the peers a delta adds or replaces (their JSON) and removes (identities). */
interface PeerChanges {
  up: readonly string[];
  gone: readonly string[];
}

/** peerChanges merges the basis's peers with the new ones (both ascending by identity). */
function peerChanges(base: MapBasis, c: MapContent, changedAt: (id: string) => number): PeerChanges {
  const up: string[] = [];
  const gone: string[] = [];
  const old = base.identities;
  const now = c.identities;
  // The peers' texts are collected only if one is sent: a policy change sends none.
  let json: string[] | null = null;
  const text = (j: number): string => (json ??= c.peerJson)[j]!;
  let i = 0;
  let j = 0;
  while (i < old.length || j < now.length) {
    const a = old[i];
    const b = now[j];
    if (b === undefined || (a !== undefined && a < b)) {
      gone.push(JSON.stringify(a));
      i++;
    } else if (a === undefined || b < a) {
      up.push(text(j));
      j++;
    } else {
      // The same peer: send it only if its JSON changed after the basis was published. Every
      // change bumps the registry's version, so a JSON made at the basis's version is the one
      // the basis holds.
      if (changedAt(c.peerIds[j]!) > base.version) up.push(text(j));
      i++;
      j++;
    }
  }
  return { up, gone };
}

/** merges remembers the last few peer merges. The maps of a class (every shared service) held
 * the same list at the same version and now get the same new one, so one merge serves them all
 * (a system joining: 20 merges of 9,000 peers each at 10,000 systems, 20% of that pass). The
 * peers' JSON is the same for every recipient, and changedAt is fixed within a version. */
const merges: { old: readonly string[]; now: readonly string[]; base: number; at: number; r: PeerChanges }[] = [];
const MERGES_KEPT = 4;

function sharedPeerChanges(base: MapBasis, next: DeltaInput): PeerChanges {
  const old = base.identities;
  const now = next.content.identities;
  const hit = merges.find((m) => m.old === old && m.now === now && m.base === base.version && m.at === next.version);
  if (hit) return hit.r;
  const r = peerChanges(base, next.content, next.changedAt);
  merges.unshift({ old, now, base: base.version, at: next.version, r });
  if (merges.length > MERGES_KEPT) merges.pop();
  return r;
}

/** deltaText renders the MapDelta JSON of `next` against `base`, or null when a full map is
 * due: the head (network, zone, discovery, relays) changed, or the delta would not be smaller
 * than the full map (fullBytes). */
export function deltaText(base: MapBasis, next: DeltaInput, fullBytes: number): string | null {
  if (partChanged(base.parts, next.parts, PARTS.indexOf('head'))) return null;
  const { up, gone } = peersUnchanged(base, next.content) ? { up: [], gone: [] } : sharedPeerChanges(base, next);
  const set: string[] = [];
  for (const p of ['self', 'policies', 'routes', 'routeGrants'] as const) {
    if (partChanged(base.parts, next.parts, PARTS.indexOf(p))) set.push(`"${p}":${next.content[p]}`);
  }
  let size = 200 + next.systemId.length;
  for (const x of up) size += x.length + 1;
  for (const x of gone) size += x.length + 1;
  for (const x of set) size += x.length + 1;
  if (size >= fullBytes) return null;
  return (
    `{"protocol":${CONTROL_PROTOCOL},"systemId":${JSON.stringify(next.systemId)},"baseVersion":${base.version},` +
    `"version":${next.version},"generatedAt":${next.generatedAt},"digest":"${next.digest}",` +
    `"peers":[${up.join(',')}],"removed":[${gone.join(',')}],"set":{${set.join(',')}}}`
  );
}

const DELTA_HEAD = 'event: delta\ndata: {"type":"delta","delta":';
const DELTA_CONTEXT_BYTES = Buffer.byteLength(MAP_DELTA_SIGNATURE_CONTEXT, 'utf8');

/** deltaFrame signs a delta's JSON (MAP_DELTA_SIGNATURE_CONTEXT) and renders its SSE event. */
export function deltaFrame(key: SigningKey, text: string): Buffer {
  const bytes = Buffer.from(MAP_DELTA_SIGNATURE_CONTEXT + text, 'utf8');
  const payload = bytes.toString('base64', DELTA_CONTEXT_BYTES);
  const signature = key.sign(bytes).toString('base64');
  return Buffer.from(`${DELTA_HEAD}{"payload":"${payload}","signature":"${signature}"}}\n\n`, 'latin1');
}
