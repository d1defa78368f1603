#!/usr/bin/env node
// `npm start`: opens the Electron app where it can run, and the browser fallback (`warren ui`)
// elsewhere, saying which and why. Arguments after `npm start --` go to `warren ui` (e.g.
// --port 8080 --no-open --socket PATH); WARREN_SOCKET picks the helper for both.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const args = process.argv.slice(2);

/** electronBinary returns the Electron executable, or the reason it cannot be used here. */
function electronBinary() {
  const pkg = join(root, 'node_modules', 'electron');
  if (!existsSync(join(pkg, 'package.json'))) return { reason: 'the optional electron package is not installed' };
  let bin;
  try {
    // electron's own index.js does the same: dist/<path.txt>.
    bin = join(pkg, 'dist', readFileSync(join(pkg, 'path.txt'), 'utf8').trim());
  } catch {
    return { reason: 'the Electron binary was not downloaded (no node_modules/electron/path.txt)' };
  }
  if (!existsSync(bin)) return { reason: `the Electron binary is missing (${bin})` };
  if (!existsSync(join(root, 'dist', 'electron', 'main.mjs')))
    return { reason: 'the Electron shell is not built (dist/electron/main.mjs)' };
  if (process.platform === 'linux' && !process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) {
    return { reason: 'there is no graphical session (DISPLAY and WAYLAND_DISPLAY are unset)' };
  }
  // Chromium's sandbox refuses root, and the window is sandboxed on purpose.
  if (process.getuid?.() === 0)
    return { reason: 'Electron does not run as root (its sandbox refuses); run npm start as your own user' };
  return { bin };
}

function run(argv) {
  const child = spawn(argv[0], argv.slice(1), { stdio: 'inherit' });
  const forward = (sig) => () => child.kill(sig);
  process.on('SIGINT', forward('SIGINT'));
  process.on('SIGTERM', forward('SIGTERM'));
  child.once('error', (e) => {
    console.error(`npm start: could not start ${argv[0]}: ${e.message}`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => process.exit(code ?? (signal ? 0 : 1)));
}

const electron = electronBinary();
if (electron.bin) {
  console.log('npm start: opening the Warren app (Electron)');
  run([electron.bin, join(root, 'dist', 'electron', 'main.mjs')]);
} else {
  console.log(`npm start: ${electron.reason}; opening the browser fallback (warren ui) instead`);
  run([process.execPath, join(root, 'dist', 'helper', 'src', 'cli', 'main.js'), 'ui', ...args]);
}
