// `warren-coordinator key`: prints the coordinator's public key and its fingerprint, which the
// admin hands to people who enrol (warren enrol --coordinator-key KEY). Without it, enrolling
// over plain http:// would have to trust whichever key answers. It reads the data dir's
// signing.key, so it works whether or not the coordinator runs.
import { join } from 'node:path';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { bool, Failure, parse, str, UsageError, type CliIo } from '../../../src-shared/lib/cli-args.js';
import { readSigningKey } from '../auth/signing.js';
import { DATA_FILES } from '../store/data-dir.js';

/** KEY_USAGE is the synopsis of key. */
export const KEY_USAGE = `the coordinator's key, which people need to enrol (read from DIR on the coordinator's machine):
  key --data DIR [--json]`;

/** runKey runs `key --data DIR [--json]`. */
export function runKey(argv: string[], io: CliIo): number {
  const p = parse(argv, { data: { type: 'string' }, json: { type: 'boolean' } }, { min: 0, max: 0 });
  const dir = str(p, 'data');
  if (dir === undefined)
    throw new UsageError("key reads the signing key in the coordinator's data dir: give --data DIR on its machine");
  let publicKey: string;
  try {
    publicKey = readSigningKey(join(dir, DATA_FILES.signingKey)).publicKey;
  } catch (e) {
    throw new Failure((e as Error).message);
  }
  const fingerprint = keyFingerprint(Buffer.from(publicKey, 'base64'));
  if (bool(p, 'json')) {
    io.stdout.write(`${JSON.stringify({ publicKey, fingerprint }, null, 2)}\n`);
    return 0;
  }
  io.stdout.write(`public key:  ${publicKey}\nfingerprint: ${fingerprint}\n`);
  io.stderr.write(
    'Give the public key to people who enrol: warren enrol --coordinator URL --key KEY --coordinator-key ' +
      `${publicKey} (or the app's "Coordinator key" field); the fingerprint is for comparing by eye.\n`,
  );
  return 0;
}
