// Reading and writing profile files: docs/profile.md. Reads are bounded and report the file, the
// key and the problem; writes validate first and replace the file atomically, so a crash or a
// bad edit never leaves a half-written or invalid profile behind.
import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';
import { FileExistsError, writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import { ProfileError } from '../../../src-shared/lib/errors.js';
import { JsonSyntaxError, parseJson } from '../../../src-shared/lib/json.js';
import { PROFILE_LIMITS, type Profile } from './schema.js';
import { validateProfile } from './validate.js';

/** LoadedProfile is a profile together with the JSON it was read from (for edits that keep
 * the user's key order and the reserved sections untouched). */
export interface LoadedProfile {
  profile: Profile;
  json: Record<string, unknown>;
}

/** loadProfile reads, parses and validates a profile file; it throws ProfileError. */
export function loadProfile(path: string): Profile {
  return readProfile(path).profile;
}

/** readProfile is loadProfile that also returns the parsed JSON. */
export function readProfile(path: string): LoadedProfile {
  return parseProfileText(readBounded(path), path);
}

/** parseProfileText parses and validates profile text; file is used in messages only. */
export function parseProfileText(text: string, file: string): LoadedProfile {
  let json: unknown;
  try {
    json = parseJson(text);
  } catch (e) {
    if (e instanceof JsonSyntaxError) throw fileError(file, `is not valid JSON: ${e.message}`);
    throw e;
  }
  const profile = validateProfile(json, file);
  return { profile, json: json as Record<string, unknown> };
}

function fileError(file: string, problem: string): ProfileError {
  return new ProfileError(file, [{ key: null, problem }]);
}

function readBounded(path: string): string {
  let fd: number;
  try {
    // O_NONBLOCK so that a FIFO planted at the path cannot hang the helper before fstat sees it.
    fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    throw openError(path, e);
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory()) throw fileError(path, 'is a directory, not a profile file');
    if (!st.isFile()) throw fileError(path, 'is not a regular file');
    const unsafe = ownershipProblem(path, st, process.getuid?.() ?? null);
    if (unsafe !== null) throw fileError(path, unsafe);
    if (st.size > PROFILE_LIMITS.fileBytes) {
      throw fileError(path, `is ${st.size} bytes (the limit is ${PROFILE_LIMITS.fileBytes})`);
    }
    // Read one byte past the limit so that a file growing under us is still caught.
    const buf = Buffer.alloc(PROFILE_LIMITS.fileBytes + 1);
    let n = 0;
    while (n < buf.length) {
      const got = readSync(fd, buf, n, buf.length - n, null);
      if (got === 0) break;
      n += got;
    }
    if (n > PROFILE_LIMITS.fileBytes) throw fileError(path, `is larger than ${PROFILE_LIMITS.fileBytes} bytes`);
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, n));
    } catch {
      throw fileError(path, 'is not valid UTF-8 text');
    }
  } finally {
    closeSync(fd);
  }
}

/**
 * ownershipProblem says why a profile's owner or mode makes it unsafe to act on, or null. The
 * profile holds the private key and decides peers, policies and routes for a helper that runs
 * as root, so whoever may write it controls the helper: it must belong to root (or to the user
 * running the command, when that is not root) and be writable by nobody else. The check is on
 * the opened descriptor's stat, so what is read is what was checked, links included (ssh's
 * StrictModes and sudo's sudoers checks make the same demand). runningUid is null where there
 * are no POSIX owners (Windows).
 */
export function ownershipProblem(
  path: string,
  st: { uid: number; mode: number },
  runningUid: number | null,
): string | null {
  if (runningUid === null) return null;
  const ownerOk = st.uid === 0 || st.uid === runningUid;
  const writers = [st.mode & 0o020 ? 'its group' : '', st.mode & 0o002 ? 'other users' : ''].filter((w) => w !== '');
  if (ownerOk && writers.length === 0) return null;
  const mode = `0${(st.mode & 0o7777).toString(8).padStart(3, '0')}`;
  const what = !ownerOk
    ? `is owned by uid ${st.uid}, not by root${runningUid === 0 ? '' : ` or by you (uid ${runningUid})`}`
    : `is writable by ${writers.join(' and ')}`;
  const file = shellQuote(path);
  const fix =
    runningUid !== 0 && st.uid === runningUid ? `chmod 600 ${file}` : `chown root:root ${file}; chmod 600 ${file}`;
  return (
    `${what} (owner uid ${st.uid}, mode ${mode}); a profile controls what the helper does as root, ` +
    `so only its owner may write it. Fix it with \`${fix}\``
  );
}

// shellQuote quotes a path for the fix line only when it needs it, so the usual one reads plainly.
function shellQuote(path: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(path) ? path : `'${path.replace(/'/g, `'\\''`)}'`;
}

function openError(path: string, e: unknown): ProfileError {
  const code = (e as NodeJS.ErrnoException).code;
  switch (code) {
    case 'ENOENT':
      return fileError(path, `does not exist; create it with \`warren init --profile ${path} --address 100.64.0.1\``);
    case 'EACCES':
    case 'EPERM':
      return fileError(path, 'permission denied (profiles hold private keys and are readable by root only)');
    case 'EISDIR':
      return fileError(path, 'is a directory, not a profile file');
    default:
      return fileError(path, `cannot be opened: ${(e as Error).message}`);
  }
}

/** SaveOptions: overwrite false refuses to replace an existing file (atomically). */
export interface SaveOptions {
  overwrite?: boolean;
}

/**
 * saveProfile validates profileJson (an object, or JSON text) and writes it to path atomically:
 * a temporary file in the same directory with mode 0600, fsync, rename, fsync of the directory.
 * If validation fails it throws ProfileError and the existing file is untouched.
 */
export function saveProfile(path: string, profileJson: unknown, opts: SaveOptions = {}): Profile {
  const text = typeof profileJson === 'string' ? profileJson : `${JSON.stringify(profileJson, null, 2)}\n`;
  if (Buffer.byteLength(text) > PROFILE_LIMITS.fileBytes) {
    throw fileError(path, `the new content is larger than ${PROFILE_LIMITS.fileBytes} bytes`);
  }
  const { profile } = parseProfileText(text, path);
  writeAtomic(path, text, opts.overwrite ?? true);
  return profile;
}

function writeAtomic(path: string, text: string, overwrite: boolean): void {
  try {
    writeFileAtomic(path, text, { mode: 0o600, overwrite });
  } catch (e) {
    if (e instanceof FileExistsError) throw fileError(path, 'already exists (use --force to replace it)');
    throw e;
  }
}
