// Where the built renderer lives: WARREN_RENDERER_DIR; else a renderer/ folder beside the
// running module, which is how the packaged web UI is laid out (resources/web-ui/warren-ui.mjs
// with resources/web-ui/renderer/, packaging/stage-web-ui.ts); else dist/renderer of the
// checkout this module belongs to (src-shared/lib/package-root.ts, which works from the
// sources under tsx, from dist/ and from the dist/web-ui bundle alike).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packageRoot } from '../../src-shared/lib/package-root.js';

/** rendererDir is the directory to serve (it may not exist yet: loadStaticFiles says so).
 * moduleUrl stands for this module's location (tests). */
export function rendererDir(
  env: Record<string, string | undefined> = process.env,
  moduleUrl: string = import.meta.url,
): string {
  const fromEnv = env.WARREN_RENDERER_DIR;
  if (fromEnv) return fromEnv;
  const beside = join(dirname(fileURLToPath(moduleUrl)), 'renderer');
  if (existsSync(beside)) return beside;
  return join(packageRoot(moduleUrl) ?? process.cwd(), 'dist', 'renderer');
}
