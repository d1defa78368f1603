import { test } from 'node:test';
import assert from 'node:assert/strict';
import { classify, UidQuota, type Holder } from './quota.js';

const root: Holder = { uid: 0, cls: 'root' };
const op = (uid: number): Holder => ({ uid, cls: 'operator' });
const other = (uid: number): Holder => ({ uid, cls: 'other' });

test('UidQuota: nested pools keep places for root and the operators whatever others take', () => {
  // 8 places: at most 2 per user, 5 for everyone but root, 3 for users outside the group.
  const q = new UidQuota('connections', { total: 8, perUser: 2, nonRoot: 5, unprivileged: 3 }, 'warren');
  const steps: [string, Holder, 'take' | 'release', RegExp | null][] = [
    ['a stranger takes its two', other(1000), 'take', null],
    ['', other(1000), 'take', null],
    ['and no third', other(1000), 'take', /^uid 1000 already has 2 connections open, the most one user may hold/],
    ['a second stranger takes one', other(1001), 'take', null],
    [
      'strangers together stop at 3',
      other(1001),
      'take',
      /^users outside root and the "warren" group together hold 3 connections, all they may; the other 5 are kept for root and that group\. .*usermod -aG warren YOUR_USER/,
    ],
    ['a third stranger gets nothing either', other(1002), 'take', /together hold 3 connections/],
    ['an operator still gets its two', op(500), 'take', null],
    ['', op(500), 'take', null],
    [
      'non-root callers stop at 5',
      op(501),
      'take',
      /^callers other than root hold 5 connections, all they may; the rest are kept for root/,
    ],
    ['root gets the rest, past any per-user bound', root, 'take', null],
    ['', root, 'take', null],
    ['', root, 'take', null],
    ['and stops at the total', root, 'take', /^the helper has 8 connections open, its limit/],
    ['a stranger closes one', other(1000), 'release', null],
    ['so another stranger may take it', other(1002), 'take', null],
    ['releasing what was never taken changes nothing', other(4242), 'release', null],
    ['the pool is still full for strangers', other(1003), 'take', /together hold 3 connections/],
  ];
  steps.forEach(([label, who, action, want], i) => {
    if (action === 'release') {
      q.release(who);
      return;
    }
    const got = q.take(who);
    if (want === null) assert.equal(got, null, `step ${i} ${label}`);
    else assert.match(got ?? 'null', want, `step ${i} ${label}`);
  });
  assert.equal(q.size, 8);
  for (const who of [other(1000), other(1001), other(1002), op(500), op(500), root, root, root]) q.release(who);
  assert.equal(q.size, 0, 'every place comes back');
  assert.equal(q.take(other(1000)), null);
});

test('UidQuota: a caller whose credentials cannot be read is one more stranger', () => {
  const q = new UidQuota('event streams', { total: 4, perUser: 1, nonRoot: 4, unprivileged: 4 }, 'warren');
  const unknown = classify(null, 'warren');
  assert.deepEqual(unknown, { uid: -1, cls: 'other' });
  assert.equal(q.take(unknown), null);
  assert.match(q.take(unknown) ?? '', /^a caller whose credentials cannot be read already has 1 event streams open/);
});

test('classify: uid 0 is root without reading any file; others are strangers unless in the group', () => {
  assert.deepEqual(classify({ pid: 1, uid: 0, gid: 0 }, 'warren'), root);
  assert.deepEqual(classify({ pid: process.pid, uid: 12345, gid: 12345 }, 'no-such-group-for-this-test'), other(12345));
});
