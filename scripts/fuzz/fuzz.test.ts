// Every fuzz harness for a fixed number of inputs from a fixed seed (so a failure here repeats
// exactly), then every saved regression input (scripts/fuzz/regressions/NAME/*). `npm run fuzz`
// runs the same harnesses for longer.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoverageProbe } from './coverage.js';
import { check, describeInput, fuzz } from './engine.js';

// Coverage starts before the harnesses, and so the code under test, are imported.
const probe = new CoverageProbe();
const { HARNESSES } = await import('./harnesses/index.js');

const SEED = Number(process.env.WARREN_FUZZ_SEED ?? 0x5eed);

/** regressions is the folder of saved inputs, found from the source tree or from dist/. */
function regressions(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) dir = dirname(dir);
  return join(dir, 'scripts', 'fuzz', 'regressions');
}

for (const spec of HARNESSES) {
  test(`fuzz ${spec.name}: ${spec.testIterations} inputs`, async () => {
    const h = await spec.create();
    try {
      const dir = join(regressions(), spec.name);
      const saved = existsSync(dir) ? readdirSync(dir).sort() : [];
      for (const f of saved) {
        const input = readFileSync(join(dir, f));
        const r = await check(spec, h, input);
        assert.ok(r.ok, `regression ${spec.name}/${f} fails: ${r.ok ? '' : r.message}`);
      }
      const report = await fuzz(spec, h, {
        seed: SEED,
        iterations: spec.testIterations,
        maxFailures: 1,
        coverage: probe,
      });
      const f = report.failures[0];
      assert.ok(
        f === undefined,
        f && `seed ${SEED}, input ${f.iteration}: ${f.message}\nminimised: ${describeInput(Buffer.from(f.minimised))}`,
      );
      assert.ok(report.outcomes.size > 1, 'the harness reached only one outcome');
    } finally {
      await h.close?.();
    }
  });
}
