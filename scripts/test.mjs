#!/usr/bin/env node
// Test driver: runs the compiled unit tests (in parallel), then the e2e tests (one file at a
// time: they build network namespaces and measure transfers, so they must not compete for
// the two cores), and closes with one line "N passed, N failed, N skipped" for CI.
// Usage: node scripts/test.mjs [--unit|--e2e] [name-filter]
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';

const args = process.argv.slice(2);
const only = args.find((a) => a === '--unit' || a === '--e2e');
const filter = args.find((a) => !a.startsWith('--'));

function findTests(dir) {
  let out = [];
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return out;
  }
  for (const e of entries) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out = out.concat(findTests(p));
    else if (e.name.endsWith('.test.js')) out.push(p);
  }
  return out.sort();
}

const all = findTests('dist').filter((f) => !filter || f.includes(filter));
const e2e = all.filter((f) => f.startsWith(join('dist', 'e2e')));
const unit = all.filter((f) => !e2e.includes(f));
const phases = [];
if (only !== '--e2e') phases.push({ name: 'unit', files: unit, concurrency: 2 });
if (only !== '--unit') phases.push({ name: 'e2e', files: e2e, concurrency: 1 });

const totals = { pass: 0, fail: 0, skipped: 0 };
const tmp = mkdtempSync(join(tmpdir(), 'warren-test-'));
let exitCode = 0;
for (const phase of phases) {
  if (phase.files.length === 0) continue;
  console.log(`\n== ${phase.name} tests (${phase.files.length} files) ==`);
  const tap = join(tmp, `${phase.name}.tap`);
  const r = spawnSync(
    process.execPath,
    [
      '--test',
      `--test-concurrency=${phase.concurrency}`,
      '--test-reporter=spec',
      '--test-reporter-destination=stdout',
      '--test-reporter=tap',
      `--test-reporter-destination=${tap}`,
      ...phase.files,
    ],
    { stdio: 'inherit' },
  );
  if (r.status !== 0) exitCode = 1;
  let text = '';
  try {
    text = readFileSync(tap, 'utf8');
  } catch {
    exitCode = 1;
  }
  for (const key of Object.keys(totals)) {
    const m = text.match(new RegExp(`^# ${key} (\\d+)$`, 'm'));
    if (m) totals[key] += Number(m[1]);
  }
}
rmSync(tmp, { recursive: true, force: true });
// Skipped tests were found too: a run that only skips (a filter on files whose implementation
// is not built) is not an empty run.
if (totals.pass + totals.fail + totals.skipped === 0 && exitCode === 0) {
  console.log('no tests were found: run `npm run build` first');
  exitCode = 1;
}
console.log(`\n${totals.pass} passed, ${totals.fail} failed, ${totals.skipped} skipped`);
process.exit(exitCode || (totals.fail > 0 ? 1 : 0));
