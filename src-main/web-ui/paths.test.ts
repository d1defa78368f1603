import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../src-shared/lib/package-root.js';
import { rendererDir } from './paths.js';

test("rendererDir prefers WARREN_RENDERER_DIR, then renderer/ beside the module, then the package's dist/renderer", () => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-renderer-dir-'));
  try {
    // A checkout (package.json named warren) with a bundle in dist/web-ui, as npm run build leaves it.
    writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'warren' }));
    const bundle = pathToFileURL(join(dir, 'dist', 'web-ui', 'warren-ui.mjs')).href;
    mkdirSync(join(dir, 'dist', 'web-ui'), { recursive: true });
    assert.equal(rendererDir({}, bundle), join(dir, 'dist', 'renderer'));
    // The staged layout: renderer/ beside the bundle wins over the package's.
    mkdirSync(join(dir, 'dist', 'web-ui', 'renderer'));
    assert.equal(rendererDir({}, bundle), join(dir, 'dist', 'web-ui', 'renderer'));
    assert.equal(rendererDir({ WARREN_RENDERER_DIR: '/srv/r' }, bundle), '/srv/r');
    assert.equal(
      rendererDir({ WARREN_RENDERER_DIR: '' }, bundle),
      join(dir, 'dist', 'web-ui', 'renderer'),
      'empty means unset',
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("rendererDir from this module is the checkout's dist/renderer", () => {
  assert.equal(rendererDir({}), join(packageRoot(import.meta.url)!, 'dist', 'renderer'));
});
