// `warren enrol` against an in-process coordinator: the identity the coordinator issues is the
// one the profile keeps (Coordinator.Identity), not the one the WireGuard key hashes to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { identityFromPublicKey } from '../../../src-shared/lib/identity.js';
import type { CreatedKey } from '../../../coordinator/src/api/admin-types.js';
import { startTestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { loadProfile, readProfile } from '../config/load.js';
import { enrol } from './enrol.js';
import { loadStoredMap } from './store.js';
import { openSignedMap } from '../../../src-shared/lib/netmap/open.js';

test('enrolment keeps the issued identity in the profile, and the stored map carries the same', async () => {
  const c = await startTestCoordinator();
  const dir = mkdtempSync(join(tmpdir(), 'warren-enrol-'));
  try {
    const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
      tags: ['dev'],
      approval: 'automatic',
      uses: 1,
      expiresInMs: 3_600_000,
      ephemeral: false,
    });
    assert.equal(k.status, 201);
    const profilePath = join(dir, 'p.profile');
    const stateDir = join(dir, 'state');
    const out = await enrol({
      coordinator: c.url,
      key: k.body.key,
      coordinatorKey: c.publicKey,
      profilePath,
      stateDir,
      hostname: 'laptop',
    });
    const issued = out.response.identity;
    const profile = loadProfile(profilePath);
    assert.notEqual(issued, identityFromPublicKey(profile.publicKey));
    assert.equal((readProfile(profilePath).json.Coordinator as Record<string, unknown>).Identity, issued);
    assert.equal(profile.identity, issued);
    const stored = loadStoredMap(stateDir);
    assert.ok(stored !== null);
    assert.equal(openSignedMap(stored, profile.coordinator!.publicKey, out.response.systemId, 0).self.identity, issued);
  } finally {
    await c.dispose();
    rmSync(dir, { recursive: true, force: true });
  }
});
