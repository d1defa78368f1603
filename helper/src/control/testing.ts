// Test support: a helper enrolled with a real coordinator running in the test's own process
// (the coordinator's test harness fits TestAdmin), through the same `enrol` the CLI uses, so
// control-runtime tests start from a real profile. It names no coordinator module: the helper
// and the coordinator are separate programs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadProfile } from '../config/load.js';
import type { Profile } from '../config/schema.js';
import { enrol } from './enrol.js';

/** TestEnrolment is where the enrolled profile and state live, and the profile itself. */
export interface TestEnrolment {
  profilePath: string;
  stateDir: string;
  profile: Profile;
}

/** TestAdmin is what enrolment needs of a running coordinator: where it is, its key, and its
 * admin API (for a one-use enrolment key). */
export interface TestAdmin {
  url: string;
  publicKey: string;
  admin<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** enrolForTest creates a one-use key (with tags and approval) and enrols `name` in dir. */
export async function enrolForTest(
  c: TestAdmin,
  dir: string,
  name: string,
  key: { tags?: string[]; approval?: 'automatic' | 'gated' } = {},
): Promise<TestEnrolment> {
  const k = await c.admin<{ key: string }>('POST', '/v1/admin/keys', {
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
