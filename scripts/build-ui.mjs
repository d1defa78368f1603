#!/usr/bin/env node
// build-ui: typechecks the renderer (src-renderer/tsconfig.json, DOM + JSX) and bundles it with
// esbuild into dist/renderer/ (app.js, app.css, index.html, icons/), the one build that both
// the Electron window and the browser fallback (`warren ui`) load. It bundles the browser
// fallback's entry (src-main/web-ui/main.ts, typechecked by tsc before this runs) into one file,
// dist/web-ui/warren-ui.mjs, which the installers stage beside the helper
// (packaging/stage-web-ui.ts). It typechecks and bundles the web console (src-console/) into
// dist/console/, which `warren-coordinator serve --console` serves. Where the electron package is installed it also typechecks
// src-main/electron/ and bundles main and preload into dist/electron/; elsewhere it says why
// that part is skipped. Runs at the end of `npm run build`.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);
const started = Date.now();
const out = join(root, 'dist', 'renderer');

/** tsc runs the TypeScript compiler with args and resolves with its exit code. */
function tsc(args) {
  const bin = join(dirname(require.resolve('typescript/package.json')), 'bin', 'tsc');
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [bin, ...args], { cwd: root, stdio: 'inherit' });
    child.once('exit', (code) => resolve(code ?? 1));
  });
}

/** electronSkipReason says why the Electron shell is not built here, or null. */
function electronSkipReason() {
  if (!existsSync(join(root, 'node_modules', 'electron', 'package.json'))) {
    return 'the optional electron package is not installed (its binary cannot be downloaded here)';
  }
  return null;
}

/** BROWSER_BUNDLE is how both pages are built (the app's window and the web console): one
 * minified classic script for current browsers, React in production mode. */
const BROWSER_BUNDLE = {
  bundle: true,
  // A classic script: Electron loads the window from file://, where module scripts are refused.
  format: 'iife',
  platform: 'browser',
  target: ['chrome120', 'firefox115', 'safari16'],
  jsx: 'automatic',
  minify: true,
  define: { 'process.env.NODE_ENV': '"production"' },
  logLevel: 'warning',
};

async function bundleRenderer() {
  rmSync(out, { recursive: true, force: true });
  mkdirSync(join(out, 'icons'), { recursive: true });
  await build({
    entryPoints: [join(root, 'src-renderer', 'app.tsx')],
    outfile: join(out, 'app.js'),
    ...BROWSER_BUNDLE,
    sourcemap: true,
    legalComments: 'linked',
  });
  copyFileSync(join(root, 'src-renderer', 'index.html'), join(out, 'index.html'));
  copyFileSync(join(root, 'src-renderer', 'styles.css'), join(out, 'app.css'));
  copyFileSync(join(root, 'assets', 'app.svg'), join(out, 'icons', 'app.svg'));
}

/** bundleConsole writes dist/console/ (console.js, console.css, index.html): the web console the
 * coordinator serves with `serve --console` (coordinator/src/console/static.ts lists these
 * three files; it serves nothing else, so no source map is written). */
async function bundleConsole() {
  const dir = join(root, 'dist', 'console');
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  await build({
    entryPoints: [join(root, 'src-console', 'main.tsx')],
    outfile: join(dir, 'console.js'),
    ...BROWSER_BUNDLE,
    legalComments: 'none',
  });
  copyFileSync(join(root, 'src-console', 'index.html'), join(dir, 'index.html'));
  copyFileSync(join(root, 'src-console', 'console.css'), join(dir, 'console.css'));
}

/** bundleWebUi writes dist/web-ui/warren-ui.mjs: the web UI's entry with everything it imports,
 * so that it runs from an installer's resources/web-ui/, which has no node_modules. */
async function bundleWebUi() {
  const dir = join(root, 'dist', 'web-ui');
  rmSync(dir, { recursive: true, force: true });
  await build({
    entryPoints: [join(root, 'src-main', 'web-ui', 'main.ts')],
    outfile: join(dir, 'warren-ui.mjs'),
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    logLevel: 'warning',
  });
}

async function buildElectron() {
  const dir = join(root, 'dist', 'electron');
  rmSync(dir, { recursive: true, force: true });
  const common = {
    bundle: true,
    platform: 'node',
    target: 'node20',
    external: ['electron'],
    sourcemap: true,
    logLevel: 'warning',
  };
  await Promise.all([
    // Main is ESM like the rest of the project; the preload must be CommonJS in a sandbox.
    build({
      ...common,
      entryPoints: [join(root, 'src-main', 'electron', 'main.ts')],
      outfile: join(dir, 'main.mjs'),
      format: 'esm',
    }),
    build({
      ...common,
      entryPoints: [join(root, 'src-main', 'electron', 'preload.ts')],
      outfile: join(dir, 'preload.cjs'),
      format: 'cjs',
    }),
  ]);
}

const skip = electronSkipReason();
const [rendererTypes, consoleTypes, , , , electronTypes] = await Promise.all([
  tsc(['-p', 'src-renderer/tsconfig.json', '--noEmit']),
  tsc(['-p', 'src-console/tsconfig.json', '--noEmit']),
  bundleConsole(),
  bundleRenderer(),
  bundleWebUi(),
  skip === null ? tsc(['-p', 'src-main/electron/tsconfig.json', '--noEmit']) : Promise.resolve(0),
]);
if (rendererTypes !== 0) {
  console.error('build-ui: the renderer does not typecheck (see above)');
  process.exit(1);
}
if (consoleTypes !== 0) {
  console.error('build-ui: the web console does not typecheck (see above)');
  process.exit(1);
}
if (skip === null) {
  if (electronTypes !== 0) {
    console.error('build-ui: the Electron shell does not typecheck (see above)');
    process.exit(1);
  }
  await buildElectron();
  console.log('build-ui: Electron shell built into dist/electron/');
} else {
  console.log(`build-ui: skipping the Electron shell: ${skip}`);
}
console.log(
  `build-ui: renderer built into dist/renderer/, the web console into dist/console/, the web UI into dist/web-ui/ in ${((Date.now() - started) / 1000).toFixed(1)} s`,
);
