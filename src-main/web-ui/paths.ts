// Where the built renderer lives: WARREN_RENDERER_DIR, else dist/renderer of the checkout or
// package this module belongs to (found by walking up to Warren's package.json, which works
// from the sources under tsx and from dist/ alike).
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** packageRoot finds the directory of Warren's package.json above a module, or null. */
export function packageRoot(fromUrl: string = import.meta.url): string | null {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === 'warren') return dir;
      } catch { /* keep looking */ }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}

/** rendererDir is the directory to serve (it may not exist yet: loadStaticFiles says so). */
export function rendererDir(env: Record<string, string | undefined> = process.env): string {
  const fromEnv = env.WARREN_RENDERER_DIR;
  if (fromEnv) return fromEnv;
  const root = packageRoot();
  return join(root ?? process.cwd(), 'dist', 'renderer');
}
