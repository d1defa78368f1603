// Anti-replay window: table-driven sequences of counters with the expected verdicts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { REJECT_AFTER_MESSAGES } from './constants.js';
import { ReplayWindow, WINDOW_SIZE } from './replay.js';

const W = WINDOW_SIZE;
const BIG = 2 ** 40;

interface Case {
  name: string;
  steps: Array<[counter: number, accepted: boolean]>;
}

const cases: Case[] = [
  {
    name: 'in order',
    steps: [
      [0, true],
      [1, true],
      [2, true],
      [3, true],
      [64, true],
      [65, true],
    ],
  },
  {
    name: 'duplicates',
    steps: [
      [0, true],
      [0, false],
      [5, true],
      [5, false],
      [4, true],
      [4, false],
    ],
  },
  {
    name: 'out of order within the window',
    steps: [
      [W, true],
      [0, true],
      [W - 1, true],
      [1, true],
      [W / 2, true],
      [W / 2, false],
    ],
  },
  {
    name: 'just too old',
    steps: [
      [W + 1, true],
      [1, true],
      [0, false],
    ],
  },
  {
    name: 'too old after moving on',
    steps: [
      [10, true],
      [10 + W + 100, true],
      [10, false],
      [11, false],
      [101, false],
      [110, true],
    ],
  },
  {
    // The same ring slot comes round again; its bits must have been cleared.
    name: 'ring wrap reuses blocks',
    steps: [
      [5, true],
      [5 + 8192, true],
      [5 + 2 * 8192, true],
      [5 + 3 * 8192, true],
      [5 + 2 * 8192, false],
      [5 + 3 * 8192 - 1, true],
    ],
  },
  {
    name: 'step through many blocks one at a time',
    steps: Array.from({ length: 600 }, (_, i): [number, boolean] => [i * 31, true]),
  },
  {
    name: 'huge jump',
    steps: [
      [0, true],
      [BIG, true],
      [BIG - 1, true],
      [BIG - W, true],
      [BIG - W - 1, false],
      [0, false],
      [BIG, false],
    ],
  },
  {
    name: 'limit',
    steps: [
      [REJECT_AFTER_MESSAGES - 1, true],
      [REJECT_AFTER_MESSAGES, false],
      [REJECT_AFTER_MESSAGES - 2, true],
    ],
  },
  {
    name: 'not a counter',
    steps: [
      [-1, false],
      [1.5, false],
      [Number.NaN, false],
      [Number.POSITIVE_INFINITY, false],
      [2 ** 60, false],
    ],
  },
];

test('ReplayWindow verdicts', () => {
  for (const c of cases) {
    const w = new ReplayWindow();
    c.steps.forEach(([counter, accepted], i) => {
      assert.equal(w.check(counter), accepted, `${c.name}: check #${i} (${counter})`);
      assert.equal(w.update(counter), accepted, `${c.name}: update #${i} (${counter})`);
      assert.equal(w.check(counter), false, `${c.name}: seen #${i} (${counter})`);
    });
  }
});

test('out of order: a shuffled window-full of counters is each accepted exactly once', () => {
  const w = new ReplayWindow();
  assert.ok(w.update(W));
  const order = Array.from({ length: W }, (_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  for (const c of order) assert.ok(w.update(c), `first ${c}`);
  for (const c of order) assert.equal(w.update(c), false, `again ${c}`);
});

test('check does not change the window; reset forgets it', () => {
  const w = new ReplayWindow();
  assert.ok(w.check(7));
  assert.ok(w.check(7));
  assert.ok(w.update(7));
  assert.equal(w.check(7), false);
  w.reset();
  assert.ok(w.check(7));
  assert.ok(w.update(0));
});
