// The data directory: coordinator.db, signing.key, admin.token and serve.json. The directory is
// 0700 and every file in it 0600: the key signs every map and the token is full control.
import { chmodSync, mkdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';

/** DATA_FILES names the files in the data dir. */
export const DATA_FILES = {
  db: 'coordinator.db',
  signingKey: 'signing.key',
  adminToken: 'admin.token',
  /** natSecret: the NAT secret, which relay and discovery keys are derived from (nat/secret.ts) */
  natSecret: 'nat.key',
  serve: 'serve.json',
} as const;

/** ServeInfo is serve.json: where the running coordinator listens. */
export interface ServeInfo {
  url: string;
  pid: number;
  /** tlsCert is the certificate file when the server speaks HTTPS (admin commands trust it). */
  tlsCert?: string;
  /** udpPort is the UDP port (discovery, embedded relay); relayTcpPort the relay's TCP port. */
  udpPort?: number;
  relayTcpPort?: number;
  /** publicKey is the coordinator's map signing key (base64) and fingerprint its short form
   * (src-shared/lib/fingerprint.ts): what the admin hands to people who enrol. */
  publicKey?: string;
  fingerprint?: string;
  /** network and network6 are the virtual network and its unique local IPv6 /48, for the admin. */
  network?: string;
  network6?: string;
}

/** ensureDataDir creates dir (0700) or tightens an existing one that others could read. */
export function ensureDataDir(dir: string): { created: boolean; tightened: boolean } {
  let created = false;
  try {
    const st = statSync(dir);
    if (!st.isDirectory()) throw new Error(`${dir} exists and is not a directory`);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    created = true;
  }
  const mode = statSync(dir).mode & 0o777;
  if (mode !== 0o700) chmodSync(dir, 0o700);
  return { created, tightened: !created && mode !== 0o700 };
}

/** loadOrCreateToken reads admin.token, or writes a new random one (0600). */
export function loadOrCreateToken(dir: string): string {
  const file = join(dir, DATA_FILES.adminToken);
  try {
    const t = readFileSync(file, 'utf8').trim();
    if (!/^[A-Za-z0-9_-]{32,128}$/.test(t))
      throw new Error(`${file} does not hold an admin token; delete it to make a new one`);
    return t;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  // The prefix makes a token recognisable in a file or a leaked log, and keeps it from starting
  // with '-' (base64url does one time in 64), which an option parser takes for another option:
  // `--token -Xy...` fails as ambiguous.
  const token = `wrn_${randomBytes(32).toString('base64url')}`;
  // overwrite false: if another process made a token meanwhile, fail rather than replace it.
  writeFileAtomic(file, `${token}\n`, { mode: 0o600, overwrite: false });
  return token;
}

/** writeServeInfo writes serve.json atomically (temp file, fsync, rename), mode 0600. */
export function writeServeInfo(dir: string, info: ServeInfo): void {
  writeFileAtomic(join(dir, DATA_FILES.serve), `${JSON.stringify(info)}\n`, { mode: 0o600 });
}

/** removeServeInfo deletes serve.json if it still names this process. */
export function removeServeInfo(dir: string, pid: number): void {
  const info = readServeInfo(dir);
  if (info && info.pid === pid) rmSync(join(dir, DATA_FILES.serve), { force: true });
}

/** readServeInfo returns serve.json's content, or null if absent or malformed. */
export function readServeInfo(dir: string): ServeInfo | null {
  let text: string;
  try {
    text = readFileSync(join(dir, DATA_FILES.serve), 'utf8');
  } catch {
    return null;
  }
  if (text.length > 4096) return null;
  try {
    const v = JSON.parse(text) as Partial<ServeInfo>;
    if (typeof v.url !== 'string' || typeof v.pid !== 'number') return null;
    const port = (x: unknown): x is number => typeof x === 'number' && Number.isInteger(x) && x > 0 && x < 65536;
    return {
      url: v.url,
      pid: v.pid,
      ...(typeof v.tlsCert === 'string' ? { tlsCert: v.tlsCert } : {}),
      ...(port(v.udpPort) ? { udpPort: v.udpPort } : {}),
      ...(port(v.relayTcpPort) ? { relayTcpPort: v.relayTcpPort } : {}),
      ...(typeof v.publicKey === 'string' ? { publicKey: v.publicKey } : {}),
      ...(typeof v.fingerprint === 'string' ? { fingerprint: v.fingerprint } : {}),
      ...(typeof v.network === 'string' ? { network: v.network } : {}),
      ...(typeof v.network6 === 'string' ? { network6: v.network6 } : {}),
    };
  } catch {
    return null;
  }
}
