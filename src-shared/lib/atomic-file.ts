// Files that are either wholly old or wholly new, even across a crash or a power cut: the
// content goes to a fresh temporary file beside the target (O_EXCL|O_NOFOLLOW, so a planted
// link is never followed), is fsynced, then renamed over the target (rename(2) is atomic within
// a filesystem) and the directory is fsynced so the rename itself survives. Every state file,
// profile and stored map goes through here. JSON state files add a mode-0700 directory.
import {
  closeSync,
  constants,
  fchmodSync,
  fsyncSync,
  linkSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';

/** AtomicWriteOptions: mode of the new file (0600 by default), through the umask like open(2)
 * unless exactMode; overwrite false refuses to replace an existing file, atomically (link(2)
 * fails with EEXIST instead of a check-then-write). */
export interface AtomicWriteOptions {
  mode?: number;
  /** exactMode gives the file exactly mode, whatever the umask: for a file other users must
   * read although the writer runs under a strict umask (the helper's unit sets UMask=0077). */
  exactMode?: boolean;
  overwrite?: boolean;
}

/** FileExistsError is what writeFileAtomic throws when overwrite is false and the file exists. */
export class FileExistsError extends Error {
  override name = 'FileExistsError';
  constructor(readonly path: string) {
    super(`${path} already exists`);
  }
}

/** writeFileAtomic replaces path with data as one step (see the top of this file). */
export function writeFileAtomic(path: string, data: string | Uint8Array, opts: AtomicWriteOptions = {}): void {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  let fd: number | null = openSync(
    tmp,
    constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW,
    opts.mode ?? 0o600,
  );
  try {
    // fchmod before the content: the file never has another mode once it carries data.
    if (opts.exactMode) fchmodSync(fd, opts.mode ?? 0o600);
    let off = 0;
    while (off < bytes.length) off += writeSync(fd, bytes, off, bytes.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    if (opts.overwrite ?? true) {
      renameSync(tmp, path);
    } else {
      try {
        linkSync(tmp, path);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code === 'EEXIST') throw new FileExistsError(path);
        throw e;
      }
      unlinkSync(tmp);
    }
  } catch (e) {
    if (fd !== null) closeSync(fd);
    removeQuietly(tmp);
    throw e;
  }
  syncDirectory(dir);
}

/** writeJsonState writes a JSON state file (mode 0600) in dir, making dir (0700) if needed. */
export function writeJsonState(dir: string, file: string, value: unknown): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  writeFileAtomic(join(dir, file), `${JSON.stringify(value, null, 2)}\n`);
}

/** readJsonState returns the parsed file, or null when it is absent, unreadable or not JSON:
 * callers check every field anyway, and a state file they cannot trust is as good as none. */
export function readJsonState(path: string, maxBytes = 1 << 20): unknown {
  let text: string;
  try {
    const buf = readFileSync(path);
    if (buf.length > maxBytes) return null;
    text = buf.toString('utf8');
  } catch {
    return null;
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return null;
  }
}

/** removeQuietly deletes a file that may already be gone. */
export function removeQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // already gone, or never made
  }
}

function syncDirectory(dir: string): void {
  let fd: number | null = null;
  try {
    fd = openSync(dir, constants.O_RDONLY | constants.O_DIRECTORY);
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on directories; the rename itself is still atomic.
  } finally {
    if (fd !== null) closeSync(fd);
  }
}
