import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDnsLabel, parseDnsName, sanitiseHostname, uniqueName } from './names.js';

test('sanitiseHostname makes a DNS label of whatever the agent reports', () => {
  const cases: [string, string][] = [
    ['laptop-1', 'laptop-1'],
    ['Laptop_1.local', 'laptop-1'],
    ['--weird--name--', 'weird-name'],
    ['ünïcode box', 'n-code-box'],
    ['', 'system'],
    ['...', 'system'],
    ['a'.repeat(80), 'a'.repeat(63)],
    [`${'b'.repeat(62)}-x`, `${'b'.repeat(62)}`],
  ];
  for (const [input, want] of cases) {
    const got = sanitiseHostname(input);
    assert.equal(got, want, input);
    assert.ok(isDnsLabel(got), got);
  }
});

test('uniqueName appends the first free number and keeps the label short', () => {
  const used = new Set(['laptop-1', 'laptop-1-2']);
  assert.equal(
    uniqueName('laptop-1', (n) => used.has(n)),
    'laptop-1-3',
  );
  assert.equal(
    uniqueName('fresh', (n) => used.has(n)),
    'fresh',
  );
  const long = 'c'.repeat(63);
  const got = uniqueName(long, (n) => n === long);
  assert.equal(got, `${'c'.repeat(61)}-2`);
  assert.ok(isDnsLabel(got));
});

test('parseDnsName accepts relative names and refuses the rest', () => {
  assert.equal(parseDnsName('DB'), 'db');
  assert.equal(parseDnsName('db.prod.'), 'db.prod');
  for (const bad of ['', '-db', 'db-', 'a..b', 'under_score', 'x'.repeat(64), 'sp ace', 42]) {
    assert.equal(typeof parseDnsName(bad), 'object', String(bad));
  }
});
