// Tests of the iproute2 wrapper against the real `ip` (read-only commands only), and of its
// install hint with `ip` taken off PATH.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ip, ipQuiet, linkExists } from './ip.js';

const ABSENT = 'warrennosuch0';

test('ip returns the output of a command that succeeds', () => {
  assert.match(ip(['-o', 'link', 'show', 'dev', 'lo']), /^1: lo: /);
});

test('ip throws "ip ARGS: what ip said" when the command fails', () => {
  assert.throws(
    () => ip(['link', 'show', 'dev', ABSENT]),
    (e: unknown) => {
      assert.ok(e instanceof Error);
      assert.match(e.message, new RegExp(`^ip link show dev ${ABSENT}: Device "${ABSENT}" does not exist\\.$`));
      return true;
    },
  );
});

test('ipQuiet and linkExists report success and failure instead of throwing', () => {
  assert.equal(ipQuiet(['link', 'show', 'dev', 'lo']), true);
  assert.equal(ipQuiet(['link', 'show', 'dev', ABSENT]), false);
  assert.equal(linkExists('lo'), true);
  assert.equal(linkExists(ABSENT), false);
});

test('without iproute2, ip says which package to install and ipQuiet reports failure', () => {
  const path = process.env.PATH;
  process.env.PATH = '/nonexistent/warren-test';
  try {
    assert.throws(() => ip(['link', 'show']), {
      message: 'the `ip` command (iproute2) is missing: install the iproute2 package',
    });
    assert.equal(ipQuiet(['link', 'show', 'dev', 'lo']), false);
  } finally {
    process.env.PATH = path;
  }
});
