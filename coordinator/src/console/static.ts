// The web console's files (dist/console/, built by scripts/build-ui.mjs). Only a fixed list of
// files is ever served, read into memory once at start: a request names an entry of that list
// or gets 404, so no path from the network ever reaches the file system. Every answer carries
// strict headers: the console runs only its own script and style, talks only to its own
// origin and cannot be framed (CSP Level 3, W3C; RFC 7034 for X-Frame-Options).
import { existsSync, readFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** CONSOLE_PREFIX is where the console is served. */
export const CONSOLE_PREFIX = '/console/';

/** CONSOLE_CSP is the Content-Security-Policy of every console answer. */
export const CONSOLE_CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

/** CONSOLE_HEADERS go on every console answer, errors too. */
export const CONSOLE_HEADERS: Readonly<Record<string, string>> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cache-control': 'no-cache',
};

/** CONSOLE_FILES: the name in the URL → the file in the bundle and its type. */
const CONSOLE_FILES: Readonly<Record<string, { file: string; type: string }>> = {
  '': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'index.html': { file: 'index.html', type: 'text/html; charset=utf-8' },
  'console.js': { file: 'console.js', type: 'text/javascript; charset=utf-8' },
  'console.css': { file: 'console.css', type: 'text/css; charset=utf-8' },
};

/** defaultBundleDir is dist/console/ beside the compiled coordinator (this module is
 * dist/coordinator/src/console/static.js). */
export function defaultBundleDir(): string {
  return join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'console');
}

/** ConsoleBundle is the console's files in memory. */
export class ConsoleBundle {
  private constructor(private readonly files: ReadonlyMap<string, { body: Buffer; type: string }>) {}

  /** load reads the bundle from dir, or throws saying what is missing and how to build it. */
  static load(dir: string): ConsoleBundle {
    const files = new Map<string, { body: Buffer; type: string }>();
    for (const [name, f] of Object.entries(CONSOLE_FILES)) {
      const path = join(dir, f.file);
      if (!existsSync(path))
        throw new Error(
          `--console: the web console is not built (${path} is missing); run "npm run build" in the Warren checkout, or start without --console`,
        );
      files.set(name, { body: readFileSync(path), type: f.type });
    }
    return new ConsoleBundle(files);
  }

  /** serve answers a request for name (the path after /console/) with method. */
  serve(res: ServerResponse, method: string, name: string): void {
    if (method !== 'GET' && method !== 'HEAD') {
      plain(res, 405, 'only GET and HEAD are allowed here\n', { allow: 'GET, HEAD' });
      return;
    }
    const f = Object.hasOwn(CONSOLE_FILES, name) ? this.files.get(name) : undefined;
    if (!f) {
      plain(res, 404, 'no such file in the web console\n');
      return;
    }
    res.writeHead(200, { ...CONSOLE_HEADERS, 'content-type': f.type, 'content-length': f.body.length });
    res.end(method === 'HEAD' ? undefined : f.body);
  }
}

function plain(res: ServerResponse, status: number, text: string, extra: Record<string, string> = {}): void {
  res.writeHead(status, {
    ...CONSOLE_HEADERS,
    ...extra,
    'content-type': 'text/plain; charset=utf-8',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}
