// A Merkle tree over byte strings, so that one Ed25519 signature covers many messages (the map
// deltas of one coordinator pass, map-delta.ts) and each recipient checks its own message with
// the few sibling hashes on its path. Leaves and inner nodes are hashed with distinct prefix
// bytes, 0x00 and 0x01 (RFC 6962 §2.1), so an inner node can never pass for a leaf. A level
// with an odd count carries its last node up unchanged; count, signed with the root, fixes
// the tree's shape, so an index and a path name exactly one leaf.
import * as crypto from 'node:crypto';

/** MERKLE_MAX_LEAVES bounds a tree (and the path a verifier walks: at most 24 steps). */
export const MERKLE_MAX_LEAVES = 1 << 24;
export const MERKLE_HASH_BYTES = 32;

const LEAF = Buffer.from([0]);
const NODE = Buffer.from([1]);

// sha256 hashes the concatenation of parts. A helper checks about ten inner nodes per delta and
// a coordinator makes one per leaf in a pass: for inputs this small the one-shot crypto.hash
// (Node 20.12 on) costs about half of createHash/update/digest; older Nodes use the latter.
const oneShot = (crypto as { hash?: typeof crypto.hash }).hash;
function sha256(parts: readonly Uint8Array[]): Buffer {
  if (oneShot !== undefined) return oneShot('sha256', Buffer.concat(parts), 'buffer');
  const h = crypto.createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest();
}

/** merkleLeaf hashes one message (0x00 || message); a message given in parts is hashed as
 * their concatenation, so a caller need not copy them into one buffer (a delta is kilobytes, so
 * it is fed to the hash as it is, not joined for the one-shot). */
export function merkleLeaf(...message: Uint8Array[]): Buffer {
  const h = crypto.createHash('sha256').update(LEAF);
  for (const part of message) h.update(part);
  return h.digest();
}

/** MERKLE_LEAF_PREFIX is the byte a leaf's hash input starts with (RFC 6962 §2.1). */
export const MERKLE_LEAF_PREFIX = 0;

/** merkleLeafOfInput is merkleLeaf for a caller that wrote the leaf's whole input into one
 * buffer, MERKLE_LEAF_PREFIX first (a coordinator framing thousands of deltas: one one-shot
 * hash each, no Hash object and no copy of the message). */
export function merkleLeafOfInput(input: Uint8Array): Buffer {
  if (input[0] !== MERKLE_LEAF_PREFIX) throw new Error('a leaf input starts with the leaf prefix');
  if (oneShot !== undefined) return oneShot('sha256', input, 'buffer');
  return crypto.createHash('sha256').update(input).digest();
}

function node(left: Buffer, right: Buffer): Buffer {
  return sha256([NODE, left, right]);
}

/** merkleLevels returns the tree's levels, from the leaves (levels[0]) up to the root (the last
 * level's one node). A level with an odd count carries its last node up unchanged. */
export function merkleLevels(leaves: readonly Buffer[]): Buffer[][] {
  if (leaves.length === 0 || leaves.length > MERKLE_MAX_LEAVES) throw new Error(`a tree of ${leaves.length} leaves`);
  const levels: Buffer[][] = [[...leaves]];
  for (let level = levels[0]!; level.length > 1;) {
    const next: Buffer[] = [];
    for (let i = 0; i < level.length; i += 2)
      next.push(i + 1 === level.length ? level[i]! : node(level[i]!, level[i + 1]!));
    levels.push(next);
    level = next;
  }
  return levels;
}

/** merklePathSteps calls step with each sibling on the path of leaf `index` from the leaf up,
 * as (level, index of the sibling in it); a step without a sibling (the carried last node of
 * an odd level) is skipped. */
export function merklePathSteps(
  levels: readonly Buffer[][],
  index: number,
  step: (level: number, at: number) => void,
): void {
  let i = index;
  for (let l = 0; l < levels.length - 1; l++, i >>>= 1) if ((i ^ 1) < levels[l]!.length) step(l, i ^ 1);
}

/** merkleTree returns the root of leaves and, for each leaf, its path: the sibling hashes from
 * the leaf up (a step without a sibling has none). */
export function merkleTree(leaves: readonly Buffer[]): { root: Buffer; paths: Buffer[][] } {
  const levels = merkleLevels(leaves);
  const paths = leaves.map((_, i) => {
    const path: Buffer[] = [];
    merklePathSteps(levels, i, (l, at) => path.push(levels[l]![at]!));
    return path;
  });
  return { root: levels[levels.length - 1]![0]!, paths };
}

/** merkleRootOf recomputes the root from a leaf, its index among count leaves and its path;
 * null when the path does not fit the tree's shape. */
export function merkleRootOf(leaf: Buffer, index: number, count: number, path: readonly Buffer[]): Buffer | null {
  const climbed = merkleClimb(leaf, index, count, path);
  return climbed === null ? null : climbed.top;
}

/** MerkleClimb is a climb from a leaf: the last node it computed (the root, unless it stopped
 * at a known node), whether it stopped there, and each inner node computed on the way as
 * [level, index, hash] (level 1 is the leaves' parents). */
export interface MerkleClimb {
  top: Buffer;
  known: boolean;
  nodes: [number, number, Buffer][];
}

/** merkleClimb is merkleRootOf for a verifier that may know some of the tree's nodes: known
 * says whether a computed node (level, index, hash) is one already proven to lie in the tree,
 * and the climb stops hashing at the first that is. The rest of the path is still checked for
 * its shape, so a path is taken or refused for its shape exactly as merkleRootOf takes it; null
 * when it does not fit. The siblings above that node are not hashed: a path right up to it and
 * wrong above is taken, which is sound, since the leaf lies under a node of the signed tree. */
export function merkleClimb(
  leaf: Buffer,
  index: number,
  count: number,
  path: readonly Buffer[],
  known?: (level: number, index: number, hash: Buffer) => boolean,
): MerkleClimb | null {
  if (!Number.isSafeInteger(count) || count < 1 || count > MERKLE_MAX_LEAVES) return null;
  if (!Number.isSafeInteger(index) || index < 0 || index >= count) return null;
  const climb: MerkleClimb = { top: leaf, known: false, nodes: [] };
  let i = index;
  let len = count;
  let k = 0;
  for (let level = 1; len > 1; level++) {
    if (i % 2 === 1 || i + 1 < len) {
      const sibling = path[k++];
      if (sibling === undefined || sibling.length !== MERKLE_HASH_BYTES) return null;
      if (!climb.known) {
        climb.top = i % 2 === 1 ? node(sibling, climb.top) : node(climb.top, sibling);
        climb.known = known?.(level, i >>> 1, climb.top) === true;
        if (!climb.known) climb.nodes.push([level, i >>> 1, climb.top]);
      }
    }
    i = Math.floor(i / 2);
    len = Math.ceil(len / 2);
  }
  return k === path.length ? climb : null;
}

/** ProvenNodes remembers, per tree (the caller's name for one: its key, signature and count),
 * the inner nodes of paths that led to a root whose signature verified. Another leaf of the
 * same tree is then proven once its climb (merkleClimb) reaches one of them: that node lies in
 * the signed tree, and the leaf hashes up to it. A process checking many recipients' leaves of
 * one tree (the bench's simulated agents: each real helper checks its own path on its own CPU)
 * hashes about two nodes a leaf rather than the whole path. Bounded: it forgets everything
 * past max nodes. */
export class ProvenNodes {
  private readonly trees = new Map<string, Map<number, Buffer>>();
  private count = 0;

  constructor(private readonly max = 1 << 16) {}

  /** known is merkleClimb's test for the tree named tree. */
  known(tree: string): (level: number, index: number, hash: Buffer) => boolean {
    const nodes = this.trees.get(tree);
    return (level, index, hash) => nodes?.get(level * MERKLE_MAX_LEAVES + index)?.equals(hash) === true;
  }

  /** add remembers a climb's nodes as proven in tree (once its root verified). */
  add(tree: string, climb: MerkleClimb): void {
    if (this.count + climb.nodes.length > this.max) {
      this.trees.clear();
      this.count = 0;
    }
    let nodes = this.trees.get(tree);
    if (nodes === undefined) this.trees.set(tree, (nodes = new Map()));
    for (const [level, index, hash] of climb.nodes) {
      if (!nodes.has(level * MERKLE_MAX_LEAVES + index)) this.count++;
      nodes.set(level * MERKLE_MAX_LEAVES + index, hash);
    }
  }
}
