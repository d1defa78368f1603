import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonSyntaxError, parseJson } from './json.js';

test('parseJson agrees with JSON.parse on valid documents', () => {
  const docs = [
    '{}',
    '[]',
    '0',
    '-0.5e+3',
    '"a\\u00e9\\n\\"\\/"',
    'true',
    'null',
    '{"a": [1, 2, {"b": null}], "c": "x", "d": false}',
    '\ufeff{"bom": 1}',
    '  {"nested": [[[[]]]]}  \n',
    '"\\ud83d\\ude00"',
  ];
  for (const d of docs) assert.deepEqual(parseJson(d), JSON.parse(d.replace(/^\ufeff/, '')), d);
});

test('parseJson keeps __proto__ as data', () => {
  const v = parseJson('{"__proto__": {"polluted": true}}') as Record<string, unknown>;
  assert.equal(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('parseJson reports line and column', () => {
  const cases: [string, number, number, RegExp][] = [
    ['', 1, 1, /empty/],
    ['{\n  "a": 1,\n}', 3, 1, /trailing comma/],
    ['{\n  "a": 1\n  "b": 2\n}', 3, 3, /expected "," or "}"/],
    ['{"a": 1, "a": 2}', 1, 10, /duplicate key "a"/],
    ["{'a': 1}", 1, 2, /expected a key/],
    ['{"a": \'x\'}', 1, 7, /double quotes/],
    ['[1, 2,]', 1, 7, /trailing comma/],
    ['{"a": 01}', 1, 7, /leading zeros/],
    ['{"a": tru}', 1, 7, /expected a value/],
    ['{"a": "x\ny"}', 1, 9, /control character U\+000A inside a string/],
    ['{"a": "x', 1, 7, /unterminated string/],
    ['{"a": "\\x"}', 1, 8, /bad escape/],
    ['{"a": 1} {', 1, 10, /after the end/],
    ['{"a": NaN}', 1, 7, /expected a value/],
    ['{"a": 1e999}', 1, 7, /out of range/],
  ];
  for (const [text, line, column, problem] of cases) {
    assert.throws(
      () => parseJson(text),
      (e: unknown) => {
        assert.ok(e instanceof JsonSyntaxError, text);
        assert.equal(e.line, line, `line of ${JSON.stringify(text)}: ${e.message}`);
        assert.equal(e.column, column, `column of ${JSON.stringify(text)}: ${e.message}`);
        assert.match(e.problem, problem);
        return true;
      },
    );
  }
});

test('parseJson names a control character after a backslash instead of copying it', () => {
  assert.throws(
    () => parseJson('{"a": "\\\n"}'),
    (e: unknown) =>
      e instanceof JsonSyntaxError && e.problem === 'bad escape "\\" then control character U+000A in a string',
  );
});

test('parseJson bounds nesting depth', () => {
  assert.throws(() => parseJson('['.repeat(100000)), /nesting is deeper than 64/);
  assert.deepEqual(parseJson('['.repeat(64) + ']'.repeat(64), 64), JSON.parse('['.repeat(64) + ']'.repeat(64)));
});
