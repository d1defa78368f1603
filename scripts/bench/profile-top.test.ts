import { test } from 'node:test';
import assert from 'node:assert/strict';
import { functionTimes } from './profile-top.js';

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
