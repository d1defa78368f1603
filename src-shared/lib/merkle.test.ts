import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { merkleClimb, merkleLeaf, merkleRootOf, merkleTree, ProvenNodes } from './merkle.js';

// A path may fit trees of other counts (the count is signed with the root, map-delta.ts, so a
// verifier computes the root under the signed count); the delta batch test checks that.

const leaves = (n: number): Buffer[] => Array.from({ length: n }, (_, i) => merkleLeaf(Buffer.from(`message ${i}`)));

test('every leaf of trees of 1 to 40 leaves leads by its path to the root, and not with another leaf or index', () => {
  for (let n = 1; n <= 40; n++) {
    const ls = leaves(n);
    const { root, paths } = merkleTree(ls);
    for (let i = 0; i < n; i++) {
      assert.deepEqual(merkleRootOf(ls[i]!, i, n, paths[i]!), root, `leaf ${i} of ${n}`);
      assert.ok(paths[i]!.length <= Math.ceil(Math.log2(n)), 'a path has at most log2(n) steps');
      if (n > 1) {
        const other = (i + 1) % n;
        assert.notDeepEqual(merkleRootOf(ls[other]!, i, n, paths[i]!), root, "another leaf on this one's path");
        const moved = merkleRootOf(ls[i]!, other, n, paths[i]!);
        assert.ok(moved === null || !moved.equals(root), 'the same path at another index');
      }
    }
  }
});

test('a path with a step too many, too few or of the wrong size fits no tree', () => {
  const ls = leaves(5);
  const { paths } = merkleTree(ls);
  assert.equal(merkleRootOf(ls[0]!, 0, 5, [...paths[0]!, Buffer.alloc(32)]), null);
  assert.equal(merkleRootOf(ls[0]!, 0, 5, paths[0]!.slice(1)), null);
  assert.equal(merkleRootOf(ls[0]!, 0, 5, [Buffer.alloc(31), ...paths[0]!.slice(1)]), null);
  assert.equal(merkleRootOf(ls[0]!, 5, 5, paths[0]!), null, 'an index past the count');
  assert.equal(merkleRootOf(ls[0]!, 0, 0, []), null, 'no leaves');
});

test('an inner node cannot pass for a leaf (RFC 6962 prefixes)', () => {
  const ls = leaves(4);
  const { root } = merkleTree(ls);
  const { root: two } = merkleTree(ls.slice(0, 2));
  // The left subtree's root, offered as a one-leaf tree's leaf of some message, is not a leaf hash.
  assert.notDeepEqual(merkleTree([two]).root, root);
  assert.notDeepEqual(merkleLeaf(Buffer.concat([ls[0]!, ls[1]!])), two);
});

test('inner nodes hash 0x01 || left || right (RFC 6962 §2.1), an odd level carrying its last node up', () => {
  const h = (...parts: Buffer[]): Buffer => {
    const d = createHash('sha256');
    for (const p of parts) d.update(p);
    return d.digest();
  };
  const one = Buffer.from([1]);
  const [a, b, c] = leaves(3) as [Buffer, Buffer, Buffer];
  assert.deepEqual(a, h(Buffer.from([0]), Buffer.from('message 0')), 'a leaf is 0x00 || message');
  const ab = h(one, a, b);
  assert.deepEqual(merkleTree([a, b]).root, ab);
  assert.deepEqual(merkleTree([a, b, c]).root, h(one, ab, c));
  assert.deepEqual(merkleRootOf(c, 2, 3, [ab]), h(one, ab, c));
  // Two nodes in a row: the second does not see the first's input.
  const { root, paths } = merkleTree(leaves(4));
  const [, , c4, d4] = leaves(4) as [Buffer, Buffer, Buffer, Buffer];
  assert.deepEqual(root, h(one, ab, h(one, c4, d4)));
  assert.deepEqual(merkleRootOf(d4, 3, 4, paths[3]!), root);
});

test('once one path is proven, every other leaf of the tree stops at a node it shares, and no other message does', () => {
  for (const n of [2, 3, 7, 16, 37]) {
    const ls = leaves(n);
    const { root, paths } = merkleTree(ls);
    const proven = new ProvenNodes();
    const first = merkleClimb(ls[0]!, 0, n, paths[0]!, proven.known('t'))!;
    assert.deepEqual([first.top, first.known], [root, false], `the first climb of ${n} reaches the root`);
    proven.add('t', first);
    let hashed = 0;
    for (let i = 1; i < n; i++) {
      const climb = merkleClimb(ls[i]!, i, n, paths[i]!, proven.known('t'))!;
      assert.ok(climb.known, `leaf ${i} of ${n} reaches a proven node`);
      hashed += climb.nodes.length + 1;
      proven.add('t', climb);
      const forged = merkleClimb(merkleLeaf(Buffer.from(`forged ${i}`)), i, n, paths[i]!, proven.known('t'))!;
      assert.ok(!forged.known && !forged.top.equals(root), `another message on leaf ${i}'s path is not proven`);
      assert.ok(!merkleClimb(ls[i]!, i, n, paths[i]!, proven.known('another tree'))!.known, 'nor in another tree');
      assert.equal(merkleClimb(ls[i]!, i, n, [...paths[i]!, root], proven.known('t')), null, 'a step too many');
    }
    // Each later leaf hashes its way up to the first node a climb before it proved: about two a
    // leaf in all, against a whole path each without the proven nodes.
    assert.ok(hashed <= 2 * (n - 1), `${hashed} nodes hashed for ${n - 1} leaves`);
  }
});

test('proven nodes are forgotten past their bound, never kept beyond it', () => {
  const ls = leaves(64);
  const { paths } = merkleTree(ls);
  const proven = new ProvenNodes(8);
  proven.add('t', merkleClimb(ls[0]!, 0, 64, paths[0]!)!); // 6 nodes
  assert.ok(merkleClimb(ls[1]!, 1, 64, paths[1]!, proven.known('t'))!.known);
  proven.add('u', merkleClimb(ls[0]!, 0, 64, paths[0]!)!); // 12 > 8: t is forgotten
  assert.ok(!merkleClimb(ls[1]!, 1, 64, paths[1]!, proven.known('t'))!.known);
  assert.ok(merkleClimb(ls[1]!, 1, 64, paths[1]!, proven.known('u'))!.known);
});
