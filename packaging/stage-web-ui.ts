// stageWebUi lays the browser fallback out in an installer's resources/web-ui/ folder, beside
// resources/helper/, where `warren ui` in the staged helper looks for it
// (helper/src/cli/web-ui-entry.ts):
//
//   web-ui/warren-ui.mjs    src-main/web-ui/main.ts and all it imports, bundled into one file
//                           by scripts/build-ui.mjs (dist/web-ui/warren-ui.mjs)
//   web-ui/renderer/        the renderer bundle it serves (dist/renderer, source maps left out),
//                           found beside the bundle by src-main/web-ui/paths.ts
//
// This is app code, kept out of the helper (stage-helper.ts); `warren ui` runs the bundle as a
// child process under the same runtime, the app's Electron binary in Node mode. electron-builder
// runs this after packing (after-pack.ts); packaging.test.ts runs that hook directly.
import { builtinModules } from 'node:module';
import { copyFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { importSpecifiers, listFiles } from './stage-helper.js';

/** WEB_UI_BUNDLE is the bundle scripts/build-ui.mjs writes, relative to the repository. */
export const WEB_UI_BUNDLE = 'dist/web-ui/warren-ui.mjs';
/** RENDERER_DIR is the renderer bundle scripts/build-ui.mjs writes, relative to the repository. */
export const RENDERER_DIR = 'dist/renderer';

/** WebUiStageOptions says where the repository is and where the web UI goes. */
export interface WebUiStageOptions {
  /** projectDir is the repository root, after `npm run build`. */
  projectDir: string;
  /** webUiDir is the folder to fill, e.g. <resources>/web-ui; it is created. */
  webUiDir: string;
}

/** stageWebUi copies the bundle and the renderer into opts.webUiDir and returns how many files
 * it copied; it throws naming what is missing, or an import the folder cannot satisfy. */
export function stageWebUi(opts: WebUiStageOptions): number {
  const bundle = join(opts.projectDir, WEB_UI_BUNDLE);
  const renderer = join(opts.projectDir, RENDERER_DIR);
  for (const need of [bundle, join(renderer, 'index.html')]) {
    if (!existsSync(need)) throw new Error(`${need} is missing: run \`npm run build\` first`);
  }
  // resources/web-ui has no node_modules: the bundle may import Node's own modules only.
  const outside = importSpecifiers(readFileSync(bundle, 'utf8')).filter(
    (s) => !s.startsWith('node:') && !builtinModules.includes(s),
  );
  if (outside.length > 0)
    throw new Error(`${bundle} imports ${outside.join(', ')}, which resources/web-ui does not carry`);
  const files: Array<[string, string]> = [[bundle, join(opts.webUiDir, 'warren-ui.mjs')]];
  for (const f of listFiles(renderer, (rel) => !rel.endsWith('.map')))
    files.push([join(renderer, f), join(opts.webUiDir, 'renderer', f)]);
  for (const [from, to] of files) {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
  return files.length;
}
