// Bounded JSON (src-shared/lib/json.ts parseJson): profiles and policy files, read as root.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { JSON_MAX_DEPTH, JsonSyntaxError, parseJson } from '../../../src-shared/lib/json.js';

function depth(v: unknown): number {
  if (v === null || typeof v !== 'object') return 0;
  let d = 0;
  for (const x of Object.values(v)) d = Math.max(d, depth(x));
  return d + 1;
}

// What JSON.parse takes and parseJson refuses on purpose (json.ts: repeated keys are errors in
// a hand-edited file, nesting is bounded, numbers must be finite and
// not too long).
const DELIBERATE = /^(duplicate key|nesting is deeper than|number out of range|number longer than)/;

export const json: HarnessSpec = {
  name: 'json',
  properties: [
    'parseJson returns a value or throws JsonSyntaxError, nothing else, with a line and column inside the text',
    'no value it returns nests deeper than JSON_MAX_DEPTH',
    'it agrees with JSON.parse: the same value for what both accept, and a refusal of what JSON.parse takes only for a repeated key, nesting, or an infinite or over-long number',
  ],
  testIterations: 6000,
  create() {
    const seeds = [
      '{"a": [1, -2.5e3, true, false, null], "b": {"c": "\\u00e9\\n\\"x\\"", "d": []}}',
      '\ufeff{"PrivateKey": "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=", "ListenPort": 51820}',
      '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[0]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]',
      '{"__proto__": {"x": 1}, "constructor": 0}',
      '"\\ud800\\udc00 and \\ud800 alone"',
      '0.000001e-300',
      '{\n  "a": 1,\n  "a": 2\n}',
    ];
    return {
      seeds: seeds.map((s) => Buffer.from(s, 'utf8')),
      dictionary: ['{', '}', '[', ']', '"', ':', ',', '\\u', '\\', '1e999', '-0', '0.', 'true', 'null', '\n', '\ufeff'],
      maxLen: 64 * 1024,
      json: true,
      run(input) {
        const text = input.toString('utf8');
        let ours: unknown;
        let refusal: JsonSyntaxError | null = null;
        try {
          ours = parseJson(text);
        } catch (e) {
          if (!(e instanceof JsonSyntaxError)) assert.fail(`parseJson threw ${errorOutcome(e)}`);
          refusal = e;
        }
        const body = text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
        let theirs: unknown;
        let theirsOk = true;
        try {
          theirs = JSON.parse(body);
        } catch {
          theirsOk = false;
        }
        if (refusal !== null) {
          const lines = text.split('\n');
          assert.ok(refusal.line >= 1 && refusal.line <= lines.length, `line ${refusal.line} of ${lines.length}`);
          assert.ok(
            refusal.column >= 1 && refusal.column <= lines[refusal.line - 1]!.length + 1,
            `column ${refusal.column}`,
          );
          if (theirsOk)
            assert.match(refusal.problem, DELIBERATE, `refused what JSON.parse accepts: ${refusal.problem}`);
          return errorOutcome(refusal);
        }
        assert.ok(theirsOk, 'accepted what JSON.parse refuses');
        assert.deepEqual(ours, theirs, 'a different value from JSON.parse');
        assert.ok(depth(ours) <= JSON_MAX_DEPTH, 'nested deeper than the bound');
        return `ok:${ours === null ? 'null' : Array.isArray(ours) ? 'array' : typeof ours}:${Math.min(depth(ours), 9)}`;
      },
    };
  },
};
