// The secrets every coordinator on one PostgreSQL database must share: the signing key (every
// map is signed with it and helpers pin it), the admin token (admin commands work against any
// of them) and the NAT secret (relay and discovery keys, nat/secret.ts). They stay files in
// each coordinator's --data DIR, never in the database: the operator copies signing.key,
// admin.token and nat.key from the first coordinator's data dir to the others'
// (docs/coordinator.md "Several coordinators"). The database records what the first
// coordinator to serve it had: the signing key's public half and SHA-256 digests of the token
// and the NAT secret (both 256-bit random, so a digest gives nothing away), and a coordinator
// whose files differ refuses to start, naming the fix.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { DATA_FILES } from './data-dir.js';
import type { Store } from './store.js';

/** SHARED_META are the meta keys the first coordinator's secrets are recorded under. */
export const SHARED_META = {
  signingKey: 'shared_signing_public_key',
  adminToken: 'shared_admin_token_sha256',
  natSecret: 'shared_nat_secret_sha256',
} as const;

const FILES = [DATA_FILES.signingKey, DATA_FILES.adminToken, DATA_FILES.natSecret];

function fix(dataDir: string): string {
  return `every coordinator on one database shares ${FILES.join(', ')}: copy those three files from the --data dir of a coordinator that serves this database into ${dataDir} (mode 0600), then start again`;
}

/** requireSharedFiles refuses to start, before any key is made, a coordinator whose data dir
 * lacks one of the shared files when another coordinator already serves the database. */
export function requireSharedFiles(store: Store, dataDir: string): void {
  if (store.getMeta(SHARED_META.signingKey) === null) return;
  const missing = FILES.filter((f) => !existsSync(join(dataDir, f)));
  if (missing.length > 0)
    throw new Error(`${dataDir} has no ${missing.join(', ')} but this database is served already; ${fix(dataDir)}`);
}

function digest(text: string): string {
  return createHash('sha256').update(text.trim(), 'utf8').digest('hex');
}

/** checkSharedSecrets records this coordinator's secrets when it is the first on the database,
 * and otherwise refuses to go on unless they are the ones recorded. */
export function checkSharedSecrets(store: Store, dataDir: string, signingPublicKey: string, adminToken: string): void {
  const natText = readFileSync(join(dataDir, DATA_FILES.natSecret), 'utf8');
  const mine = [
    [SHARED_META.signingKey, signingPublicKey, `${DATA_FILES.signingKey} (public key ${signingPublicKey})`],
    [SHARED_META.adminToken, digest(adminToken), DATA_FILES.adminToken],
    [SHARED_META.natSecret, digest(natText), DATA_FILES.natSecret],
  ] as const;
  const differ: string[] = [];
  store.transaction(() => {
    for (const [key, value, what] of mine) if (store.claimMeta(key, value) !== value) differ.push(what);
  });
  if (differ.length > 0) {
    const recorded = store.getMeta(SHARED_META.signingKey);
    throw new Error(
      `${differ.join(', ')} in ${dataDir} ${differ.length === 1 ? 'is' : 'are'} not what the other coordinators on this database use (their signing key is ${recorded}); ${fix(dataDir)}`,
    );
  }
}
