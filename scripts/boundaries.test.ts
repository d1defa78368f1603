// The boundary check itself (scripts/check-boundaries.mjs with .dependency-cruiser.cjs), on
// fixture trees laid out like the repository: a tree that keeps every rule passes, and each
// kind of forbidden import, a cycle between folders and test support in production code each
// make it fail, naming the rule and the import.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
// From source this file is in scripts/; compiled, in dist/scripts/.
const repo = here.includes(`${join('dist', 'scripts')}`) ? join(here, '..', '..') : join(here, '..');

type Check = (dir: string) => { code: number; output: string };
const { checkBoundaries } = (await import(pathToFileURL(join(repo, 'scripts', 'check-boundaries.mjs')).href)) as {
  checkBoundaries: Check;
};

/** CLEAN is a tree in which every room imports only what it may. */
const CLEAN: Record<string, string> = {
  'src-shared/wire/status.ts': 'export type Status = { up: boolean };',
  'src-shared/lib/log.ts':
    "import type { Status } from '../wire/status.js';\nexport const log = (s: Status): string => String(s.up);",
  'src-shared/lib/helper-client/client.ts':
    "import type { Status } from '../../wire/status.js';\nexport const dial = (): string => { const s: Status = { up: true }; return String(s.up); };",
  'helper/src/daemon/run.ts':
    "import { log } from '../../../src-shared/lib/log.js';\nimport { dial } from '../../../src-shared/lib/helper-client/client.js';\nexport const run = (): string => log({ up: true }) + dial();",
  'helper/src/tun/tun-fake.ts': 'export const fakeTun = 1;',
  'helper/src/tun/tun.test.ts':
    "import { fakeTun } from './tun-fake.js';\nimport { relayInternals } from '../../../relay/src/inner.js';\nexport const t = fakeTun + relayInternals;",
  'relay/src/inner.ts': 'export const relayInternals = 1;',
  'relay/src/index.ts': "import { relayInternals } from './inner.js';\nexport const engine = relayInternals;",
  'coordinator/src/server/server.ts':
    "import { engine } from '../../../relay/src/index.js';\nimport { log } from '../../../src-shared/lib/log.js';\nexport const serve = (): string => log({ up: engine > 0 });",
  'src-main/backend.ts':
    "import { dial } from '../src-shared/lib/helper-client/client.js';\nexport const backend = dial;",
  'src-renderer/app.ts':
    "import type { Status } from '../src-shared/wire/status.js';\nexport const view = (s: Status): string => String(s.up);",
  'src-console/main.ts':
    "import type { Status } from '../src-shared/wire/status.js';\nexport const page = (s: Status): string => String(s.up);",
};

/** VIOLATIONS adds one forbidden import per rule: [file, extra source, rule, imported file]. */
const VIOLATIONS: Array<[string, string, string, string]> = [
  [
    'src-shared/wire/bad.ts',
    "import { readFileSync } from 'node:fs';\nexport const r = readFileSync;",
    'wire-imports-only-wire',
    'fs',
  ],
  [
    'src-shared/lib/bad.ts',
    "import { run } from '../../helper/src/daemon/run.js';\nexport const r = run;",
    'lib-is-a-leaf',
    'helper/src/daemon/run.ts',
  ],
  [
    'helper/src/cli/bad.ts',
    "import { serve } from '../../../coordinator/src/server/server.js';\nexport const r = serve;",
    'helper-stays-home',
    'coordinator/src/server/server.ts',
  ],
  [
    'coordinator/src/api/bad.ts',
    "import { relayInternals } from '../../../relay/src/inner.js';\nexport const r = relayInternals;",
    'coordinator-stays-home',
    'relay/src/inner.ts',
  ],
  [
    'relay/src/bad.ts',
    "import { run } from '../../helper/src/daemon/run.js';\nexport const r = run;",
    'relay-stays-home',
    'helper/src/daemon/run.ts',
  ],
  [
    'src-main/bad.ts',
    "import { run } from '../helper/src/daemon/run.js';\nexport const r = run;",
    'app-main-stays-home',
    'helper/src/daemon/run.ts',
  ],
  [
    'src-renderer/bad.ts',
    "import { log } from '../src-shared/lib/log.js';\nexport const r = log;",
    'renderer-uses-only-contracts',
    'src-shared/lib/log.ts',
  ],
  ['src-renderer/node.ts', "import { join } from 'node:path';\nexport const r = join;", 'renderer-has-no-node', 'path'],
  [
    'src-console/bad.ts',
    "import { serve } from '../coordinator/src/server/server.js';\nexport const r = serve;",
    'console-uses-only-contracts',
    'coordinator/src/server/server.ts',
  ],
  ['src-console/node.ts', "import { join } from 'node:path';\nexport const r = join;", 'console-has-no-node', 'path'],
  [
    'coordinator/src/api/console.ts',
    "import { page } from '../../../src-console/main.js';\nexport const r = page;",
    'coordinator-stays-home',
    'src-console/main.ts',
  ],
  [
    'helper/src/daemon/fake-use.ts',
    "import { fakeTun } from '../tun/tun-fake.js';\nexport const r = fakeTun;",
    'no-test-support-in-production',
    'helper/src/tun/tun-fake.ts',
  ],
];

function writeTree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'warren-rooms-'));
  const tsconfig = {
    compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, types: [] },
    include: ['**/*.ts'],
  };
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify(tsconfig));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, file)), { recursive: true });
    writeFileSync(join(dir, file), `${text}\n`);
  }
  return dir;
}

function check(files: Record<string, string>): { code: number; output: string } {
  const dir = writeTree(files);
  try {
    return checkBoundaries(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('a tree that keeps to its rooms passes, tests and the relay engine entry included', () => {
  const r = check(CLEAN);
  assert.equal(r.code, 0, r.output);
  assert.match(r.output, /no dependency violations found \(\d+ modules/);
});

test('every forbidden kind of import fails the check and is named with its rule', () => {
  const files = { ...CLEAN };
  for (const [file, text] of VIOLATIONS) files[file] = text;
  const r = check(files);
  assert.notEqual(r.code, 0, r.output);
  for (const [file, , rule, target] of VIOLATIONS) {
    assert.ok(
      r.output.includes(`error ${rule}: ${file} → ${target}`),
      `expected "${rule}: ${file} → ${target}" in:\n${r.output}`,
    );
  }
  // Besides these, the lib → helper import also closes a folder cycle.
  const named = r.output.match(/^\s*error (?!no-folder-cycle)/gm) ?? [];
  assert.equal(named.length, VIOLATIONS.length, r.output);
});

test('a cycle between folders fails even when no module imports itself back', () => {
  const r = check({
    ...CLEAN,
    'helper/src/config/profile.ts': "import { rule } from '../firewall/rule.js';\nexport const profile = rule;",
    'helper/src/firewall/rule.ts': 'export const rule = 1;',
    'helper/src/firewall/compile.ts': "import { parse } from '../config/parse.js';\nexport const compile = parse;",
    'helper/src/config/parse.ts': 'export const parse = 2;',
  });
  assert.notEqual(r.code, 0, r.output);
  assert.match(
    r.output,
    /error no-folder-cycle: helper\/src\/(config|firewall) → \n\s+helper\/src\/(firewall|config) →\n\s+helper\/src\/(config|firewall)/,
  );
});
