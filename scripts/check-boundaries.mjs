#!/usr/bin/env node
// Room boundaries and folder cycles: runs dependency-cruiser with .dependency-cruiser.cjs over
// the programs' sources. `npm run lint` runs it on the repository; scripts/boundaries.test.ts
// runs it on fixture trees to show that each rule really fails.
// Usage: node scripts/check-boundaries.mjs [DIR]   (DIR: the tree to check, default the repository)
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** ROOMS are the top-level folders whose imports are checked (tools may import anything). */
export const ROOMS = ['helper', 'src-shared', 'coordinator', 'relay', 'src-main', 'src-renderer', 'src-console'];

const repo = join(dirname(fileURLToPath(import.meta.url)), '..');

/** checkBoundaries runs the check on dir and returns depcruise's exit code and output. */
export function checkBoundaries(dir = repo) {
  const bin = join(repo, 'node_modules', 'dependency-cruiser', 'bin', 'dependency-cruise.mjs');
  const rooms = ROOMS.filter((r) => existsSync(join(dir, r)));
  const r = spawnSync(process.execPath, [bin, '--config', join(repo, '.dependency-cruiser.cjs'), ...rooms], {
    cwd: dir,
    encoding: 'utf8',
    timeout: 120_000,
  });
  return { code: r.status ?? 1, output: `${r.stdout ?? ''}${r.stderr ?? ''}` };
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { code, output } = checkBoundaries(resolve(process.argv[2] ?? repo));
  process.stdout.write(output);
  process.exit(code);
}
