import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, parseDuration } from './duration.js';

test('parseDuration reads each unit and refuses the rest', () => {
  const cases: [string, number | 'problem'][] = [
    ['90s', 90_000],
    ['10m', 600_000],
    ['2h', 7_200_000],
    ['7d', 604_800_000],
    [' 5m ', 300_000],
    ['0s', 'problem'],
    ['10', 'problem'],
    ['1.5h', 'problem'],
    ['-1d', 'problem'],
    ['10w', 'problem'],
    ['99999d', 'problem'],
    ['', 'problem'],
  ];
  for (const [text, want] of cases) {
    const got = parseDuration(text);
    if (want === 'problem') assert.equal(typeof got, 'object', text);
    else assert.equal(got, want, text);
  }
});

test('formatDuration picks the largest exact unit', () => {
  assert.equal(formatDuration(604_800_000), '7d');
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(3_600_000), '1h');
  assert.equal(formatDuration(1500), '1500ms');
});
