// The NAT secret: 32 random bytes in the data dir (nat.key, base64, 0600), made on first use.
// Every relay's key and every system's discovery key is derived from it
// (src-shared/lib/nat-keys.ts), so it is all the coordinator stores. Replacing it invalidates
// every relay token and discovery key at once: external relays need their new keys
// (`warren-coordinator relay-key NAME`), and helpers fetch new ones when theirs stop working.
import { chmodSync, existsSync, readFileSync, statSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { FileExistsError, writeFileAtomic } from '../../../src-shared/lib/atomic-file.js';
import { NAT_KEY_BYTES, NatKeys } from '../../../src-shared/lib/nat-keys.js';
import { EXIT, Failure, parse, str, UsageError, type CliIo } from '../../../src-shared/lib/cli-args.js';
import { EMBEDDED_RELAY_NAME, EXTERNAL_RELAY_NAME } from './config.js';
import { DATA_FILES } from '../store/data-dir.js';

/** NAT_SECRET_FILE is the secret's file name in the data dir. */
export const NAT_SECRET_FILE = DATA_FILES.natSecret;

function read(file: string): Buffer | null {
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  const secret = Buffer.from(text, 'base64');
  if (secret.length !== NAT_KEY_BYTES || secret.toString('base64') !== text) {
    throw new Error(
      `${file} does not hold the NAT secret (base64 of ${NAT_KEY_BYTES} bytes); restore it, or move it away to make a new one (external relays then need their new keys)`,
    );
  }
  return secret;
}

/** loadOrCreateNatKeys reads DATA_DIR/nat.key, or creates it (never replacing one that another
 * process made meanwhile), and returns the keys derived from it. */
export function loadOrCreateNatKeys(dataDir: string): { keys: NatKeys; created: boolean } {
  const file = join(dataDir, NAT_SECRET_FILE);
  const found = read(file);
  if (found !== null) return { keys: new NatKeys(found), created: false };
  try {
    writeFileAtomic(file, `${randomBytes(NAT_KEY_BYTES).toString('base64')}\n`, { mode: 0o600, overwrite: false });
  } catch (e) {
    if (!(e instanceof FileExistsError)) throw e;
  }
  return { keys: new NatKeys(read(file)!), created: true };
}

/** relayKeyFor is the key of the external relay `name` (what `relay-key NAME` prints), or a
 * problem with the name. */
export function relayKeyFor(dataDir: string, name: string): Buffer | { problem: string } {
  if (!EXTERNAL_RELAY_NAME.test(name))
    return {
      problem: `${JSON.stringify(name.slice(0, 40))} is not a relay name (1-32 letters, digits, "_", "." or "-")`,
    };
  if (name === EMBEDDED_RELAY_NAME) return { problem: `"${EMBEDDED_RELAY_NAME}" is the embedded relay's name` };
  return loadOrCreateNatKeys(dataDir).keys.relayKey(name);
}

/** RELAY_KEY_USAGE is the admin command's synopsis. */
export const RELAY_KEY_USAGE =
  'relay-key NAME --data DIR   (prints the key of external relay NAME, for its warren-relay --relay-key-file)';

/** runRelayKey runs `warren-coordinator relay-key NAME --data DIR`: the key on stdout, nothing
 * else, so that it can go straight into a file. */
export function runRelayKey(argv: string[], io: CliIo): number {
  const p = parse(argv, { data: { type: 'string' } }, { min: 1, max: 1 });
  const dir = str(p, 'data');
  if (dir === undefined) throw new UsageError('relay-key needs --data DIR (the coordinator data directory)');
  if (!existsSync(dir)) throw new Failure(`there is no data directory at ${dir}`);
  const key = relayKeyFor(dir, p.positionals[0]!);
  if ('problem' in key) throw new UsageError(`relay-key: ${key.problem}`);
  io.stdout.write(`${key.toString('base64')}\n`);
  return EXIT.ok;
}
