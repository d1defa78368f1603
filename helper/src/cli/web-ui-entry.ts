// Where `warren ui` finds the browser fallback's program. The window is app code, which the
// helper may not import or carry (.dependency-cruiser.cjs, packaging/stage-helper.ts), so it
// is a program of its own, looked for in this order:
//   WARREN_WEB_UI                          a path to it (another build, tests)
//   <checkout>/dist/src-main/web-ui/main.js    a development checkout after `npm run build`
//   <resources>/web-ui/warren-ui.mjs       installed: beside the staged helper in
//                                          <resources>/helper (packaging/stage-web-ui.ts)
// <checkout> and <resources>/helper are both found as the folder of Warren's package.json.
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { packageRoot } from '../../../src-shared/lib/package-root.js';
import { CliError } from './command.js';

/** WEB_UI_ENV names the environment variable that points at the web UI's entry. */
export const WEB_UI_ENV = 'WARREN_WEB_UI';
/** DEV_ENTRY is the compiled entry in a checkout, relative to its root. */
export const DEV_ENTRY = join('dist', 'src-main', 'web-ui', 'main.js');
/** PACKAGED_ENTRY is the bundled entry in an installed app, relative to its resources folder. */
export const PACKAGED_ENTRY = join('web-ui', 'warren-ui.mjs');

/** webUiCandidates lists where the entry may be for the helper module at moduleUrl, in order. */
export function webUiCandidates(moduleUrl: string): string[] {
  const root = packageRoot(moduleUrl);
  return root === null ? [] : [join(root, DEV_ENTRY), join(dirname(root), PACKAGED_ENTRY)];
}

/** findWebUiEntry returns the web UI's entry, or throws a CliError that says how to get one.
 * moduleUrl stands for this module's location (tests). */
export function findWebUiEntry(env: Record<string, string | undefined>, moduleUrl: string = import.meta.url): string {
  const fromEnv = env[WEB_UI_ENV];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new CliError(`${WEB_UI_ENV} is ${fromEnv}, which does not exist`);
    return resolve(fromEnv);
  }
  const candidates = webUiCandidates(moduleUrl);
  const found = candidates.find((p) => existsSync(p));
  if (found !== undefined) return found;
  const looked = candidates.length > 0 ? ` (looked for ${candidates.join(' and ')})` : '';
  throw new CliError(
    `Warren's window is not installed here${looked}. Install the Warren app, which ` +
      `brings it, or run \`npm run build\` in a Warren checkout, or set ${WEB_UI_ENV} to the path of its entry.`,
  );
}
