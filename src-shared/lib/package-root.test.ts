import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from './package-root.js';

test("packageRoot skips other packages and broken manifests on the way up to warren's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pkgroot-'));
  try {
    const outer = join(dir, 'app');
    const inner = join(outer, 'node_modules', 'other');
    const broken = join(inner, 'lib');
    mkdirSync(join(broken, 'deep'), { recursive: true });
    writeFileSync(join(outer, 'package.json'), JSON.stringify({ name: 'warren' }));
    writeFileSync(join(inner, 'package.json'), JSON.stringify({ name: 'other' }));
    writeFileSync(join(broken, 'package.json'), '{ not json');
    const module = pathToFileURL(join(broken, 'deep', 'x.js')).href;
    assert.equal(packageRoot(module), outer);
    assert.equal(packageRoot(pathToFileURL(join(outer, 'y.js')).href), outer);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("packageRoot is null when no package.json above the module is warren's", () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pkgroot-'));
  try {
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'someone-else' }));
    assert.equal(packageRoot(pathToFileURL(join(dir, 'x.js')).href), null);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('packageRoot finds this checkout from this module', () => {
  const root = packageRoot(import.meta.url);
  assert.notEqual(root, null);
  assert.ok(import.meta.url.startsWith(pathToFileURL(root!).href + '/'), `${root} is above ${import.meta.url}`);
});
