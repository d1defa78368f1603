// Where the admin commands get the admin token, in this order: --token-file PATH, the
// WARREN_ADMIN_TOKEN environment variable, --token TOKEN (with a warning: argv is visible to
// every user of the machine through ps and /proc), then the --data DIR's admin.token.
import { closeSync, fstatSync, openSync, readSync, constants } from 'node:fs';

/** ADMIN_TOKEN_ENV is the environment variable the admin commands read the token from. */
export const ADMIN_TOKEN_ENV = 'WARREN_ADMIN_TOKEN';

/** TOKEN_FILE_MAX bounds what is read of a token file: a token is at most 128 characters. */
export const TOKEN_FILE_MAX = 4096;

/** TOKEN_TEXT is what the coordinator accepts after "Bearer " (api/admin.ts). */
const TOKEN_TEXT = /^[A-Za-z0-9_-]{1,128}$/;

/** TOKEN_ON_ARGV_WARNING is printed when --token is given. */
export const TOKEN_ON_ARGV_WARNING = `warning: --token puts the admin token on the command line, where other users of this machine can see it (ps, /proc); use --token-file PATH or ${ADMIN_TOKEN_ENV} instead\n`;

/** TokenProblem is a token source that cannot be used, with the message to show. */
export class TokenProblem extends Error {
  override name = 'TokenProblem';
}

/** checkToken refuses text the coordinator would never accept, naming where it came from. */
export function checkToken(text: string, from: string): string {
  const t = text.trim();
  if (!TOKEN_TEXT.test(t))
    throw new TokenProblem(`${from} does not hold an admin token (1 to 128 letters, digits, - and _)`);
  return t;
}

/** readTokenFile reads a token file like ssh reads a private key: a regular file that only
 * its owner can read or write, at most TOKEN_FILE_MAX bytes, surrounding blanks trimmed. The
 * checks are on the opened file (fstat), so the file cannot be swapped between check and read. */
export function readTokenFile(path: string): string {
  let fd: number;
  try {
    fd = openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    throw new TokenProblem(`cannot read the token file ${path}: ${(e as Error).message}`);
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile()) throw new TokenProblem(`the token file ${path} is not a regular file`);
    if ((st.mode & 0o077) !== 0) {
      const mode = (st.mode & 0o777).toString(8).padStart(4, '0');
      throw new TokenProblem(
        `the token file ${path} has permissions ${mode}, so other users can read or change it; it must be for its owner only (chmod 600 ${path})`,
      );
    }
    if (st.size > TOKEN_FILE_MAX)
      throw new TokenProblem(
        `the token file ${path} has ${st.size} bytes; a token file holds one token (at most ${TOKEN_FILE_MAX} bytes)`,
      );
    const buf = Buffer.alloc(TOKEN_FILE_MAX + 1);
    let n = 0;
    for (let r = 1; r > 0 && n < buf.length; n += r) r = readSync(fd, buf, n, buf.length - n, null);
    if (n > TOKEN_FILE_MAX)
      throw new TokenProblem(`the token file ${path} grew past ${TOKEN_FILE_MAX} bytes while read`);
    return checkToken(buf.subarray(0, n).toString('utf8'), `the token file ${path}`);
  } finally {
    closeSync(fd);
  }
}

/** TokenFlags are the token sources a command line can give. */
export interface TokenFlags {
  tokenFile?: string;
  token?: string;
  env: NodeJS.ProcessEnv;
}

/** explicitToken is the token from --token-file, the environment or --token, in that order, or
 * undefined when none is given (then the --data DIR's admin.token is used). warn gets the
 * warning about --token whenever --token is given. */
export function explicitToken(f: TokenFlags, warn: (s: string) => void): string | undefined {
  if (f.token !== undefined) warn(TOKEN_ON_ARGV_WARNING);
  if (f.tokenFile !== undefined) return readTokenFile(f.tokenFile);
  const env = f.env[ADMIN_TOKEN_ENV];
  if (env !== undefined && env !== '') return checkToken(env, `the environment variable ${ADMIN_TOKEN_ENV}`);
  if (f.token !== undefined) return checkToken(f.token, '--token');
  return undefined;
}
