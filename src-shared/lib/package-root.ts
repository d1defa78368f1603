// Finding Warren's own folder from a module's location: the nearest directory above the module
// with a package.json named warren. That is the checkout, from the sources under tsx and from
// dist/ alike, and the staged helper's folder (packaging/stage-helper.ts writes a package.json
// of that name), so code finds its build output without a fixed relative path.
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** PACKAGE_NAME is the name in Warren's package.json. */
export const PACKAGE_NAME = 'warren';

/** packageRoot returns the directory of the nearest package.json named warren above the module
 * at fromUrl (a file: URL, e.g. import.meta.url), or null when there is none. */
export function packageRoot(fromUrl: string): string | null {
  let dir = dirname(fileURLToPath(fromUrl));
  for (;;) {
    const pkg = join(dir, 'package.json');
    if (existsSync(pkg)) {
      try {
        if ((JSON.parse(readFileSync(pkg, 'utf8')) as { name?: unknown }).name === PACKAGE_NAME) return dir;
      } catch {
        /* an unreadable or foreign package.json: keep looking */
      }
    }
    const up = dirname(dir);
    if (up === dir) return null;
    dir = up;
  }
}
