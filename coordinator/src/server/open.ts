// What a coordinator opens before it serves: its data dir, its store and its keys. On a
// PostgreSQL database other coordinators may serve too; their shared secrets are checked here
// (store/shared-secrets.ts), before anything listens.
import { join } from 'node:path';
import type { Logger } from '../../../src-shared/lib/log.js';
import type { NatKeys } from '../../../src-shared/lib/nat-keys.js';
import { loadOrCreateSigningKey, type SigningKey } from '../auth/signing.js';
import { loadOrCreateNatKeys } from '../nat/secret.js';
import { DATA_FILES, ensureDataDir, loadOrCreateToken } from '../store/data-dir.js';
import { openStore } from '../store/open-store.js';
import { checkSharedSecrets, requireSharedFiles } from '../store/shared-secrets.js';
import type { Store } from '../store/store.js';

/** Opened is the store and the keys. */
export interface OpenedState {
  store: Store;
  signingKey: SigningKey;
  adminToken: string;
  natKeys: NatKeys;
}

/** loadKeys reads (or makes, the first time) the signing key, the admin token and the NAT secret. */
function loadKeys(dataDir: string, log: Logger): Omit<OpenedState, 'store'> {
  const { key: signingKey, created } = loadOrCreateSigningKey(join(dataDir, DATA_FILES.signingKey));
  if (created) log.info(`created the signing key (public key ${signingKey.publicKey})`);
  const adminToken = loadOrCreateToken(dataDir);
  const natKeys = loadOrCreateNatKeys(dataDir);
  if (natKeys.created) log.info('created the NAT secret (nat.key: relay and discovery keys)');
  return { signingKey, adminToken, natKeys: natKeys.keys };
}

/** openState opens the data dir, the store (storeUrl, or SQLite in dataDir) and the keys; on
 * failure it closes what it opened. */
export function openState(dataDir: string, storeUrl: string | undefined, log: Logger): OpenedState {
  ensureDataDir(dataDir);
  const store = openStore(dataDir, storeUrl);
  try {
    if (storeUrl !== undefined) requireSharedFiles(store, dataDir);
    const keys = loadKeys(dataDir, log);
    if (storeUrl !== undefined) checkSharedSecrets(store, dataDir, keys.signingKey.publicKey, keys.adminToken);
    return { store, ...keys };
  } catch (e) {
    store.close();
    throw e;
  }
}
