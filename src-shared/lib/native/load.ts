// Locating and loading warren_native.node. The same code runs from src-shared/lib/native under tsx
// and from dist/src-shared/lib/native after tsc, so the addon is found by walking up to the
// project root (the first directory with a package.json whose build output exists) rather
// than by a fixed relative path.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { NativeAddon } from './types.js';

/** ADDON_PATH is where node-gyp puts the addon, relative to the project root. */
export const ADDON_PATH = join('native', 'build', 'Release', 'warren_native.node');

/** findAddon returns the addon's absolute path, searching upwards from `start`. */
export function findAddon(start: string): string {
  let dir = start;
  for (;;) {
    if (existsSync(join(dir, 'package.json'))) {
      const candidate = join(dir, ADDON_PATH);
      if (existsSync(candidate)) return candidate;
    }
    const parent = dirname(dir);
    if (parent === dir) {
      throw new Error(`warren_native.node not found above ${start}: build it with \`npm run install\``);
    }
    dir = parent;
  }
}

let addon: NativeAddon | undefined;

/** loadAddon loads the addon on first use, so that importing this module never fails. */
export function loadAddon(): NativeAddon {
  if (addon === undefined) {
    if (process.platform !== 'linux') {
      throw new Error(`the Warren native addon supports Linux only (this is ${process.platform})`);
    }
    const here = dirname(fileURLToPath(import.meta.url));
    addon = createRequire(import.meta.url)(findAddon(here)) as NativeAddon;
  }
  return addon;
}
