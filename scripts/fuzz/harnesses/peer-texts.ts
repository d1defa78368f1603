// Cutting a held map's peers' texts out of its prefix (src-shared/lib/netmap/peer-texts.ts): the
// helper runs it, as root, on the text of a map the coordinator sent. The helper only hands it
// the middle of a map text that parsed, so for text of that shape the cut must be exact; for
// any other text it must still return in bounded time without throwing (what it cuts from such
// text is never trusted: the map made with it must hash to the signed digest).
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { peerTextsOf } from '../../../src-shared/lib/netmap/peer-texts.js';
import { sampleMap } from '../../../src-shared/lib/netmap/testing.js';

/** prefixOf writes a map's fields from systemId to its peer list as a held prefix holds them. */
function prefixOf(fields: Record<string, unknown>): string {
  return Object.entries(fields)
    .map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)},`)
    .join('');
}

/** peersOf is the peer list the prefix's text says, when it is JSON with that list last. */
function peersOf(prefix: string): { peers: unknown[]; canonical: boolean } | null {
  if (!prefix.endsWith(',')) return null;
  const wrapped = `{${prefix.slice(0, -1)}}`;
  let v: unknown;
  try {
    v = JSON.parse(wrapped);
  } catch {
    return null;
  }
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const keys = Object.keys(v);
  const peers = (v as Record<string, unknown>).peers;
  if (keys.at(-1) !== 'peers' || !Array.isArray(peers)) return null;
  return { peers, canonical: JSON.stringify(v) === wrapped };
}

export const peerTexts: HarnessSpec = {
  name: 'peer-texts',
  properties: [
    'peerTextsOf returns null or an array of strings, and never throws',
    'from a prefix that is JSON with the peer list last, each text it cuts decodes to the element in that place, and there are as many',
    'for a canonical prefix (JSON.stringify output) whose last field is a list of objects, it cuts every one',
  ],
  testIterations: 3000,
  create() {
    const map = sampleMap({ version: 7 });
    const peer = { identity: 'DB456', name: 'db "x", {y}', endpoints: ['192.0.2.2:51820'], tags: ['a\\b'] };
    const seeds = [
      prefixOf({ systemId: map.systemId, self: map.self, virtualNetwork: map.virtualNetwork, peers: map.peers }),
      prefixOf({ systemId: 's', self: { peers: [{}] }, peers: [peer, { ...peer, identity: 'AB123' }] }),
      prefixOf({ systemId: 's', peers: [] }),
      '"peers":[{"identity":"A"}}],',
    ];
    return {
      seeds: seeds.map((s) => Buffer.from(s, 'utf8')),
      dictionary: ['"peers":[', '{', '}', '[', ']', '"', '\\"', '\\\\', ',', ':', '{"identity":"'],
      maxLen: 64 * 1024,
      json: true,
      run(input) {
        const text = input.toString('utf8');
        let cut: string[] | null;
        try {
          cut = peerTextsOf(text);
        } catch (e) {
          assert.fail(`peerTextsOf threw ${errorOutcome(e)}`);
        }
        const said = peersOf(text);
        if (cut === null) {
          const complete =
            said !== null &&
            said.canonical &&
            said.peers.every((p) => typeof p === 'object' && p !== null && !Array.isArray(p));
          assert.ok(!complete, 'a canonical prefix with a list of objects was not cut');
          return said === null ? 'null:not-a-prefix' : 'null:prefix';
        }
        assert.ok(Array.isArray(cut) && cut.every((t) => typeof t === 'string'), 'not an array of strings');
        if (said === null) return 'cut:not-a-prefix';
        assert.equal(cut.length, said.peers.length, 'a different count from the peer list');
        cut.forEach((t, i) =>
          assert.deepEqual(JSON.parse(t), said.peers[i], `element ${i} is not the one in its place`),
        );
        return `cut:${Math.min(cut.length, 4)}`;
      },
    };
  },
};
