// The renderer's built files (dist/renderer), read once at start into memory. Serving from a
// fixed table means no request path ever reaches the file system, so there is no traversal to
// guard against, and the bounds keep a wrong directory from filling memory.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';

/** StaticFile is one servable file. */
export interface StaticFile {
  body: Buffer;
  type: string;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.json': 'application/json; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
  '.txt': 'text/plain; charset=utf-8',
};

const MAX_FILES = 500;
const MAX_TOTAL_BYTES = 50 * 1024 * 1024;

/** loadStaticFiles reads dir recursively into a table keyed by "a/b.js"; it throws with a
 * clear message if the directory is missing or has no index.html. */
export function loadStaticFiles(dir: string): Map<string, StaticFile> {
  const files = new Map<string, StaticFile>();
  let total = 0;
  const walk = (sub: string): void => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.name.startsWith('.')) continue;
      if (e.isDirectory()) {
        walk(rel);
        continue;
      }
      const type = TYPES[extname(e.name).toLowerCase()];
      if (!e.isFile() || type === undefined) continue;
      if (files.size >= MAX_FILES)
        throw new Error(`${dir} holds more than ${MAX_FILES} files; is it the renderer build?`);
      total += statSync(join(dir, rel)).size;
      if (total > MAX_TOTAL_BYTES)
        throw new Error(`${dir} holds more than ${MAX_TOTAL_BYTES} bytes; is it the renderer build?`);
      files.set(rel, { body: readFileSync(join(dir, rel)), type });
    }
  };
  try {
    walk('');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT')
      throw new Error(`the app's renderer is not built (${dir} is missing): run \`npm run build\``);
    throw e;
  }
  if (!files.has('index.html')) throw new Error(`${dir} has no index.html: run \`npm run build\``);
  return files;
}
