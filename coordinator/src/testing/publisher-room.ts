// A map publisher over a real SQLite registry in a temporary directory, for the tests of what a
// pass computes and for whom: systems set online stand for those with a watch stream (server.ts
// asks the hub), and every delivery is recorded.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { NetworkMap, SignedMap } from '../../../src-shared/wire/control.js';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { MapPublisher } from '../maps/publisher.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry, type LiveSystem } from '../store/registry.js';
import { loadOrCreateSigningKey, verifySignedMap, type SigningKey } from '../auth/signing.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { sampleNewSystem } from './rows.js';

/** PublisherRoom is the registry, its publisher and what the publisher delivered since the
 * test last emptied `delivered`. */
export interface PublisherRoom {
  registry: Registry;
  pub: MapPublisher;
  key: SigningKey;
  delivered: string[];
  /** apply applies a policy file's text (it must parse). */
  apply(text: string): void;
  /** add inserts a system with tags, online (with a stream) or not. */
  add(tags: string[], online: boolean): LiveSystem;
  /** mapOf is the system's full map as the publisher signs it, verified and decoded. */
  mapOf(s: LiveSystem): NetworkMap;
}

/** withPublisherRoom runs fn in a new room and removes it after, even when fn throws. */
export function withPublisherRoom(fn: (room: PublisherRoom) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-pubroom-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  let pub: MapPublisher | null = null;
  try {
    const { key } = loadOrCreateSigningKey(join(dir, 'signing.key'));
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'warren.internal',
      { changed: (x) => pub?.changed(x), revoked: () => {}, removed: () => {} },
      0,
    );
    const delivered: string[] = [];
    const p = new MapPublisher(registry, key, (s) => delivered.push(s.id), createLogger(0, { write: () => {} }));
    pub = p;
    p.hasStream = (id) => registry.get(id)?.online ?? false;
    let n = 0;
    fn({
      registry,
      pub: p,
      key,
      delivered,
      apply(text) {
        const r = parsePolicyFile(text);
        if (!r.ok) throw new Error(`the test's policy file does not parse: ${JSON.stringify(r)}`);
        registry.applyPolicy(text, r.file, 0);
      },
      add(tags, online) {
        n++;
        const s = registry.insert(sampleNewSystem(n, registry.allocate(), { tags }), n);
        if (online) registry.setOnline(s, true, n);
        return s;
      },
      mapOf(s) {
        const signed = JSON.parse(p.fullMap(s)!.signedJson.toString()) as SignedMap;
        return JSON.parse(verifySignedMap(key.publicKey, signed)!.toString()) as NetworkMap;
      },
    });
  } finally {
    pub?.stop();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
