import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeExitNodeState } from '../exitnode/state.js';
import { readStateDirLeftovers } from './leftovers.js';

test("an exit node's recorded IPv6 forwarding and accept_ra reach the leftovers the app reads", (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-leftovers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeExitNodeState(dir, {
    pid: 4242,
    table: 'warren_exit_warren0',
    ipForward: '1',
    ipv6Forward: '0',
    acceptRa: ['eth0'],
  });
  const found = readStateDirLeftovers(dir);
  assert.notEqual(found, 'unreadable');
  if (found === 'unreadable') return;
  assert.deepEqual(found.leftovers.exitNode, {
    table: 'warren_exit_warren0',
    ipForward: '1',
    ipv6Forward: '0',
    acceptRa: ['eth0'],
  });
  assert.equal(found.pid, 4242);

  writeExitNodeState(dir, { pid: 4243, table: 'warren_exit_warren0', ipForward: '0' });
  const v4 = readStateDirLeftovers(dir);
  assert.notEqual(v4, 'unreadable');
  if (v4 === 'unreadable') return;
  assert.deepEqual(v4.leftovers.exitNode, { table: 'warren_exit_warren0', ipForward: '0' }, 'no IPv6 fields invented');
});
