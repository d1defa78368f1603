// Test support: a helper enrolled with a real coordinator running in the test's own process
// (the coordinator's test harness fits TestAdmin), through the same `enrol` the CLI uses, so
// control-runtime tests start from a real profile. It names no coordinator module: the helper
// and the coordinator are separate programs.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { loadProfile } from '../config/load.js';
import type { Profile } from '../config/schema.js';
import { enrol } from './enrol.js';

/** TestAdmin is what enrolment needs of a running coordinator: where it is, its key, and its
 * admin API (for a one-use enrolment key). */
export interface TestAdmin {
  url: string;
  publicKey: string;
  admin<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }>;
}

/** TestEnrolOptions: where the profile and state go, the key's tags and approval, and the
 * local opt-in of an exit node. */
export interface TestEnrolOptions {
  hostname: string;
  profilePath: string;
  stateDir: string;
  tags?: string[];
  approval?: 'automatic' | 'gated';
  serveExitNode?: boolean;
}

/** enrolForTest creates a one-use key (with tags and approval) and enrols with it. */
export async function enrolForTest(c: TestAdmin, o: TestEnrolOptions): Promise<Profile> {
  const k = await c.admin<{ key: string }>('POST', '/v1/admin/keys', {
    tags: o.tags ?? [],
    approval: o.approval ?? 'automatic',
    uses: 1,
    expiresInMs: 3_600_000,
    ephemeral: false,
  });
  assert.equal(k.status, 201);
  await enrol({
    coordinator: c.url,
    key: k.body.key,
    coordinatorKey: c.publicKey,
    profilePath: o.profilePath,
    stateDir: o.stateDir,
    hostname: o.hostname,
    ...(o.serveExitNode !== undefined ? { serveExitNode: o.serveExitNode } : {}),
  });
  return loadProfile(o.profilePath);
}

/** enrolInDir enrols `name` with its profile and state directory in dir. */
export async function enrolInDir(
  c: TestAdmin,
  dir: string,
  name: string,
  key: Pick<TestEnrolOptions, 'tags' | 'approval'> = {},
): Promise<{ profile: Profile; stateDir: string }> {
  const stateDir = join(dir, `${name}-state`);
  const profile = await enrolForTest(c, {
    ...key,
    hostname: name,
    profilePath: join(dir, `${name}.profile`),
    stateDir,
  });
  return { profile, stateDir };
}
