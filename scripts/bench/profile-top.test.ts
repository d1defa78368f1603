import { test } from 'node:test';
import assert from 'node:assert/strict';
import { functionTimes, lastRun } from './profile-top.js';

const frame = (functionName: string) => ({ functionName, url: '', lineNumber: 0 });

test('a profile is summed by function: self time for the top frame, total time once per sample for every frame on the stack', () => {
  // root -> a -> b -> a (recursion), root -> c; each sample's time is the next delta.
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 5] },
      { id: 2, callFrame: frame('a'), children: [3] },
      { id: 3, callFrame: frame('b'), children: [4] },
      { id: 4, callFrame: frame('a') },
      { id: 5, callFrame: frame('c') },
    ],
    samples: [4, 3, 5, 2, 1],
    timeDeltas: [0, 100, 200, 300, 400],
  };
  const { functions, totalUs } = functionTimes(profile);
  const by = new Map(functions.map((f) => [f.name, f]));
  assert.equal(totalUs, 1000);
  assert.deepEqual(
    by.get('a'),
    { name: 'a', selfUs: 100 + 400, totalUs: 100 + 200 + 400 },
    'the recursion counted once',
  );
  assert.deepEqual(by.get('b'), { name: 'b', selfUs: 200, totalUs: 300 });
  assert.deepEqual(by.get('c'), { name: 'c', selfUs: 300, totalUs: 300 });
  assert.equal(by.get('(root)')!.totalUs, 1000);
});

test('a profile cut to the last run of a function: from its first sample after a gap of a second, for the given time', () => {
  // root -> f -> g, root -> h; f runs at 0-0.2 s (the start), then 5.0-5.1 s (the moment).
  const profile = {
    nodes: [
      { id: 1, callFrame: frame('(root)'), children: [2, 4] },
      { id: 2, callFrame: frame('f'), children: [3] },
      { id: 3, callFrame: frame('g') },
      { id: 4, callFrame: frame('h') },
    ],
    samples: [2, 3, 4, 4, 3, 2, 4, 4, 4],
    // absolute: 0, 0.1, 0.2, 3.0, 5.0, 5.1, 5.2, 5.3, 9.0 s
    timeDeltas: [0, 100_000, 100_000, 2_800_000, 2_000_000, 100_000, 100_000, 100_000, 3_700_000],
  };
  const cut = lastRun(profile, 'f', 250);
  assert.ok(cut !== null);
  assert.deepEqual(cut.samples, [3, 2, 4], 'from g under f at 5.0 s to h at 5.2 s');
  assert.equal(lastRun(profile, 'nowhere', 250), null);
  const inner = lastRun(profile, 'g', 10_000);
  assert.deepEqual(inner!.samples, [3, 2, 4, 4, 4], 'g (under f) last ran from 5.0 s; the cut ends with the profile');
});
