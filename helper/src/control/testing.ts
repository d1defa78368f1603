// Test support: a helper enrolled with a real coordinator running in the test's own process,
// through the same `enrol` the CLI uses, so control-runtime tests start from a real profile.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import type { CreatedKey } from '../../../coordinator/src/api/admin-types.js';
import type { TestCoordinator } from '../../../coordinator/src/testing/testing.js';
import { loadProfile } from '../config/load.js';
import type { Profile } from '../config/schema.js';
import { enrol } from './enrol.js';

/** TestEnrolment is where the enrolled profile and state live, and the profile itself. */
export interface TestEnrolment {
  profilePath: string;
  stateDir: string;
  profile: Profile;
}

/** enrolForTest creates a one-use key (with tags and approval) and enrols `name` in dir. */
export async function enrolForTest(
  c: TestCoordinator,
  dir: string,
  name: string,
  key: { tags?: string[]; approval?: 'automatic' | 'gated' } = {},
): Promise<TestEnrolment> {
  const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
    tags: key.tags ?? [],
    approval: key.approval ?? 'automatic',
    uses: 1,
    expiresInMs: 3_600_000,
    ephemeral: false,
  });
  assert.equal(k.status, 201);
  const profilePath = join(dir, `${name}.profile`);
  const stateDir = join(dir, `${name}-state`);
  await enrol({
    coordinator: c.url,
    key: k.body.key,
    coordinatorKey: c.publicKey,
    profilePath,
    stateDir,
    hostname: name,
  });
  return { profilePath, stateDir, profile: loadProfile(profilePath) };
}
