// A map's content as the publisher digests and deltas it (netmap.ts MapBuilder.content): the
// parts of the JSON text after the version header, the text itself joined only when asked for.
/** MapContent is a map's content (see MapBuilder.content) and its parts, which a delta
 * (delta.ts) compares with what the system last got. The text is joined only when asked for:
 * the publisher digests a map whose peers did not change from the hash state after its peers
 * (publisher.ts), so a policy change costs each map the bytes of its policies, not of its peers. */
export interface MapContent {
  /** text is the whole content (joined on first use). */
  readonly text: string;
  /** prefix is the text up to and including the peers' list: `"systemId":...,"peers":[...`;
   * tail the rest, from the peers' closing bracket on (`],"policies":...}`). */
  prefix(): string;
  /** prefixParts is the prefix as its start (`"systemId":...,"peers":[`) and its peers' JSON
   * joined, as UTF-8; maps listing the same peers share those bytes (MapBuilder.joinedPeers). */
  prefixParts(): [string, Buffer];
  tail: string;
  peerIds: string[];
  identities: string[];
  /** peerJson[i] is the MapPeer JSON of identities[i] (collected on first use). */
  readonly peerJson: string[];
  /** peersChangedAt is the newest registry version at which any peer's JSON changed (0 for
   * none): a map whose basis is at least that version holds every peer as it is now. */
  peersChangedAt: number;
  self: string;
  /** selfDigest is the SHA-256 of self (kept by MapBuilder while self stays the same). */
  selfDigest: Buffer;
  /** head is the text between self and peers: network, zone, discovery and relays. */
  head: string;
  policies: string;
  /** policiesDigest stands for the policies' SHA-256 as a part digest (delta.ts partDigests):
   * the same for two of a system's maps exactly when their policies are, or null when the
   * policies text is to be hashed (policy-texts.ts). */
  policiesDigest: Buffer | null;
  routes: string;
  routeGrants: string;
}

/** PREFIX_CHUNK is how many characters of a peer list are joined before they are encoded. A
 * shared service's list is megabytes: joined whole, each pass made a string over V8's 128 KiB
 * regular object size (put in the large-object space, freed only by a full collection), and
 * between full collections those piled up to hundreds of MiB. Pieces of this size die young (a
 * scavenge frees them). */
const PREFIX_CHUNK = 16_384;

/** joinedUtf8 is list joined by commas, as UTF-8, built in pieces of about PREFIX_CHUNK
 * characters (the same bytes as the joined text). */
export function joinedUtf8(list: readonly string[]): Buffer {
  const pieces: Buffer[] = [];
  let piece = '';
  for (let i = 0; i < list.length; i++) {
    piece += i === 0 ? list[i]! : `,${list[i]!}`;
    if (piece.length >= PREFIX_CHUNK) {
      pieces.push(Buffer.from(piece, 'utf8'));
      piece = '';
    }
  }
  pieces.push(Buffer.from(piece, 'utf8'));
  return pieces.length === 1 ? pieces[0]! : Buffer.concat(pieces);
}

/** ContentParts are what MapBuilder.content fills in of a MapContent. */
export type ContentParts = Omit<MapContent, 'text' | 'prefix' | 'prefixParts' | 'tail' | 'peerJson'>;

/** LazyContent is a MapContent whose texts are collected and joined lazily, each at most once.
 * A class, not an object literal with getters and a spread: such a literal is built through
 * V8's slow path, which cost more than the rest of assembling a map (profiled). */
export class LazyContent implements MapContent {
  private peers: string[] | null = null;
  private prefixText: string | null = null;
  private textNow: string | null = null;
  readonly peerIds: string[];
  readonly identities: string[];
  readonly peersChangedAt: number;
  readonly self: string;
  readonly selfDigest: Buffer;
  readonly head: string;
  readonly policies: string;
  readonly policiesDigest: Buffer | null;
  readonly routes: string;
  readonly routeGrants: string;

  constructor(
    private readonly start: string,
    readonly tail: string,
    private readonly peerJsonOf: () => string[],
    private readonly joinedOf: () => Buffer,
    parts: ContentParts,
  ) {
    this.peerIds = parts.peerIds;
    this.identities = parts.identities;
    this.peersChangedAt = parts.peersChangedAt;
    this.self = parts.self;
    this.selfDigest = parts.selfDigest;
    this.head = parts.head;
    this.policies = parts.policies;
    this.policiesDigest = parts.policiesDigest;
    this.routes = parts.routes;
    this.routeGrants = parts.routeGrants;
  }

  get peerJson(): string[] {
    return (this.peers ??= this.peerJsonOf());
  }

  prefix(): string {
    return (this.prefixText ??= this.start + this.peerJson.join(','));
  }

  prefixParts(): [string, Buffer] {
    return [this.start, this.joinedOf()];
  }

  get text(): string {
    return (this.textNow ??= this.prefix() + this.tail);
  }
}
