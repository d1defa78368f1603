// The strict exposition reader: it reads what Prometheus reads and refuses what Prometheus refuses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePromText, promValue } from './prom-text.js';

test('reads families, types, escaped label values and histogram series', () => {
  const f = parsePromText(
    [
      '# HELP a_total Things\\ndone.',
      '# TYPE a_total counter',
      'a_total{x="q\\"uo\\\\te",y="2"} 3',
      '# TYPE h histogram',
      'h_bucket{le="0.1"} 1',
      'h_bucket{le="+Inf"} 2',
      'h_sum 0.25',
      'h_count 2',
      '',
    ].join('\n'),
  );
  assert.equal(f.get('a_total')?.type, 'counter');
  assert.equal(f.get('a_total')?.help, 'Things\ndone.');
  assert.equal(promValue(f, 'a_total', { x: 'q"uo\\te', y: '2' }), 3);
  assert.equal(promValue(f, 'h_bucket', { le: '+Inf' }), 2);
  assert.equal(promValue(f, 'h_sum'), 0.25);
  assert.throws(() => promValue(f, 'a_total'), /no sample/);
});

test('refuses malformed expositions', () => {
  const bad: Array<[string, RegExp]> = [
    ['x 1\n', /without a TYPE/],
    ['# TYPE x gauge\nx 1\nx 2\n', /twice/],
    ['# TYPE x gauge\nx{a="1"} one\n', /bad value/],
    ['# TYPE x gauge\nx{1a="1"} 1\n', /bad label/],
    ['# TYPE x gauge\nx{a="\\t"} 1\n', /bad escape/],
    ['# TYPE x meter\n', /unknown type/],
    ['# TYPE x gauge\nx 1', /newline/],
    ['# TYPE x gauge\nx{a="1"b="2"} 1\n', /commas/],
  ];
  for (const [text, why] of bad) assert.throws(() => parsePromText(text), why, text);
});
