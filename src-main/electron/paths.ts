// Where the shell finds its pieces, relative to the bundle in dist/electron/: the renderer
// build, the preload and the icons (assets/ in a checkout, resources/assets when packaged).
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** shellPaths are the files the shell loads. */
export const shellPaths = {
  index: join(here, '..', 'renderer', 'index.html'),
  preload: join(here, 'preload.cjs'),
  assets:
    [join(here, '..', '..', 'assets'), join(process.resourcesPath ?? here, 'assets')].find((d) => existsSync(d)) ??
    join(here, '..', '..', 'assets'),
};

/** indexUrl is the only URL a window may show. */
export const indexUrl = pathToFileURL(shellPaths.index).href;
