// Finding the addon from wherever the compiled or source module sits.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { ADDON_PATH, findAddon } from './load.js';

/** tree makes a temporary directory holding the given files (empty). */
function tree(files: string[]): string {
  const root = mkdtempSync(join(tmpdir(), 'warren-load-'));
  for (const f of files) {
    mkdirSync(dirname(join(root, f)), { recursive: true });
    writeFileSync(join(root, f), '');
  }
  return root;
}

test('findAddon walks up from source and from compiled locations to the project root', () => {
  const root = tree([
    'package.json',
    ADDON_PATH,
    'src-shared/lib/native/index.ts',
    'dist/src-shared/lib/native/index.js',
  ]);
  try {
    for (const from of ['src-shared/lib/native', 'dist/src-shared/lib/native']) {
      assert.equal(findAddon(join(root, from)), join(root, ADDON_PATH), from);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('findAddon skips a nearer package.json that has no addon', () => {
  const root = tree(['package.json', ADDON_PATH, 'dist/package.json', 'dist/src-shared/lib/native/index.js']);
  try {
    assert.equal(findAddon(join(root, 'dist/src-shared/lib/native')), join(root, ADDON_PATH));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('findAddon explains how to build the addon when there is none', () => {
  const root = tree(['package.json', 'a/b/x.js']);
  try {
    assert.throws(() => findAddon(join(root, 'a/b')), /warren_native\.node not found .*npm run install/);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
