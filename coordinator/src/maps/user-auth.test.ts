// The UserAuthentication trust requirement: how it is written, when it is met (the MaxAge
// boundary, groups, authority, a disabled user), what the World keeps of it, and the one timer
// that runs a map pass at the earliest lapse.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { parsePolicies } from '../../../src-shared/lib/policy-parse.js';
import type { UserAuthenticationRequirement } from '../../../src-shared/wire/policy.js';
import { buildWorld, MapBuilder } from './netmap.js';
import { parsePolicyFile } from '../policy/policy-file.js';
import { Registry } from '../store/registry.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { usersOf, type UserRow } from '../store/users.js';
import { sampleSystemRow, sampleUserRow } from '../testing/rows.js';
import { userAuthState } from './user-auth.js';
import { LapseTimer, watchLapses, type LapseClock } from './lapse-timer.js';
import type { Lapse } from './user-auth.js';

const H = 3_600_000;
const policyWith = (req: object) => [
  {
    Name: 'p',
    Senders: ['group:eng'],
    Receivers: ['tag:server'],
    Acls: [{ Protocol: 'any' }],
    TrustRequirements: [req],
  },
];

test('UserAuthentication is parsed with Authority, Groups and MaxAge, and only in a coordinator policy file', () => {
  const req = { Type: 'UserAuthentication', Authority: 'corp', Groups: ['Eng', 'group:ops'], MaxAge: '8h' };
  const r = parsePolicies(policyWith(req), 'Policies', { people: true });
  assert.deepEqual(r.issues, []);
  assert.deepEqual(r.policies[0]!.trustRequirements, [
    { type: 'user-authentication', authority: 'corp', groups: ['eng', 'ops'], maxAgeMs: 8 * H },
  ]);
  const noGroups = parsePolicies(policyWith({ Type: 'user-authentication', Authority: 'corp', MaxAge: '90s' }), 'P', {
    people: true,
  });
  assert.deepEqual(noGroups.policies[0]!.trustRequirements[0], {
    type: 'user-authentication',
    authority: 'corp',
    groups: [],
    maxAgeMs: 90_000,
  });
  const keys = (req: object) =>
    parsePolicies(policyWith(req), 'P', { people: true }).issues.map((i) => `${i.key}: ${i.problem}`);
  assert.deepEqual(keys({ Type: 'UserAuthentication', Authority: 'corp' }), [
    'P[0].TrustRequirements[0].MaxAge: is required (a duration like "8h")',
  ]);
  assert.match(keys({ Type: 'UserAuthentication', MaxAge: '8h' })[0]!, /Authority: is required/);
  assert.match(keys({ Type: 'UserAuthentication', Authority: 'c', MaxAge: '8 hours' })[0]!, /not a duration/);
  assert.match(keys({ Type: 'UserAuthentication', Authority: 'c', MaxAge: '400d' })[0]!, /at most a year/);
  assert.match(keys({ Type: 'UserAuthentication', Authority: 'c', MaxAge: '0s' })[0]!, /longer than zero/);
  assert.match(keys({ Type: 'UserAuthentication', Authority: 'c', MaxAge: '1h', Groups: 'eng' })[0]!, /Groups/);
  assert.match(keys({ Type: 'UserAuthentication', Authority: 'c', MaxAge: '1h', Group: [] })[0]!, /Group: unknown key/);
  const profile = parsePolicies(policyWith({ Type: 'UserAuthentication', Authority: 'c', MaxAge: '1h' }), 'P');
  assert.ok(
    profile.issues.some(
      (i) => /TrustRequirements\[0\]\.Type$/.test(i.key) && /only for a coordinator's policy file/.test(i.problem),
    ),
    JSON.stringify(profile.issues),
  );
});

const alice: UserRow = sampleUserRow({
  id: 'u-a',
  subject: 'a',
  provider: 'Corp',
  createdAt: 0,
  lastAuthAt: 1_000_000,
});
const req = (over: Partial<UserAuthenticationRequirement> = {}): UserAuthenticationRequirement => ({
  type: 'user-authentication',
  authority: 'corp',
  groups: ['eng'],
  maxAgeMs: 8 * H,
  ...over,
});

test('UserAuthentication is met up to exactly MaxAge after the sign-in, and not one millisecond later', () => {
  const at = alice.lastAuthAt + 8 * H;
  assert.deepEqual(userAuthState(req(), alice, at), { met: true, lapsesAt: at + 1 });
  assert.deepEqual(userAuthState(req(), alice, at + 1), { met: false, why: 'expired' });
  assert.deepEqual(userAuthState(req(), alice, alice.lastAuthAt), { met: true, lapsesAt: at + 1 });
});

test('UserAuthentication needs every listed group, the named authority (Name in any case, or issuer URL), a user, not disabled', () => {
  const now = alice.lastAuthAt + 1;
  assert.equal(userAuthState(req({ groups: ['eng', 'ops'] }), alice, now).met, false);
  assert.deepEqual(userAuthState(req({ groups: ['ops'] }), alice, now), { met: false, why: 'groups' });
  assert.equal(userAuthState(req({ groups: [] }), alice, now).met, true);
  assert.deepEqual(userAuthState(req({ authority: 'other' }), alice, now), { met: false, why: 'authority' });
  assert.equal(userAuthState(req({ authority: 'https://idp.example.com' }), alice, now).met, true);
  assert.equal(userAuthState(req({ authority: 'https://IDP.example.com' }), alice, now).met, false);
  assert.deepEqual(userAuthState(req(), { ...alice, disabled: true }, now), { met: false, why: 'disabled' });
  // The provider refused the sign-in's refresh token (oidc/recheck.ts): however recent it was.
  assert.deepEqual(userAuthState(req(), { ...alice, lapsedAt: now }, now), { met: false, why: 'lapsed' });
  assert.deepEqual(userAuthState(req(), undefined, now), { met: false, why: 'no-user' });
});

function withRegistry(fn: (registry: Registry, changes: (string | null)[]) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-userauth-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  const changes: (string | null)[] = [];
  try {
    const registry = new Registry(
      store,
      parseCidr('100.64.0.0/10')!,
      'z',
      { changed: (s) => changes.push(s?.id ?? null), revoked() {}, removed() {} },
      0,
    );
    fn(registry, changes);
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const POLICY = JSON.stringify({
  Tags: ['server'],
  Policies: [
    {
      Name: 'eng-8h',
      Senders: ['group:eng'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'any' }],
      TrustRequirements: [{ Type: 'UserAuthentication', Authority: 'Corp', Groups: ['eng'], MaxAge: '8h' }],
    },
  ],
});

function setUp(registry: Registry): { a: string; b: string; server: string } {
  const users = usersOf(registry);
  users.save({ ...alice });
  users.save({ ...alice, id: 'u-b', subject: 'b', email: 'bob@example.com', lastAuthAt: alice.lastAuthAt + H });
  const row = (n: number, over: object) =>
    registry.insert(
      sampleSystemRow({
        id: `s${n}`,
        wgKey: `wg${n}`,
        machineKey: `mk${n}`,
        name: `n${n}`,
        address: 0x64400000 + n,
        tags: [],
        ...over,
      }),
      0,
    ).identity;
  const a = row(1, { ownerId: 'u-a' });
  const b = row(2, { ownerId: 'u-b' });
  const server = row(3, { tags: ['server'] });
  const r = parsePolicyFile(POLICY);
  assert.ok(r.ok);
  if (r.ok) registry.applyPolicy(POLICY, r.file, 1);
  return { a, b, server };
}

test('the World leaves out senders whose sign-in lapsed, keeps the earliest lapse, and maps carry no UserAuthentication', () => {
  withRegistry((registry) => {
    const { a, b, server } = setUp(registry);
    const t0 = alice.lastAuthAt + 8 * H;
    let w = buildWorld(registry, registry.policy, t0);
    assert.deepEqual([...w.policies[0]!.senders].sort(), [a, b].sort());
    assert.equal(w.nextLapseAt, t0 + 1, "alice's lapse is the earliest");
    assert.equal(w.policies[0]!.lapses.length, 0);
    w = buildWorld(registry, registry.policy, t0 + 1);
    assert.deepEqual([...w.policies[0]!.senders], [b]);
    assert.equal(w.nextLapseAt, t0 + H + 1, "the next is bob's");
    assert.deepEqual(
      w.policies[0]!.lapses.map((l) => [l.email, l.policy, l.since]),
      [['alice@example.com', 'eng-8h', t0 + 1]],
    );
    w = buildWorld(registry, registry.policy, t0 + H + 1);
    assert.deepEqual([...w.policies[0]!.senders], []);
    assert.equal(w.nextLapseAt, null, 'nothing left to lapse');
    const map = new MapBuilder(registry).content(registry.lookup(server) as never).text;
    assert.doesNotMatch(map, /user-authentication/);
  });
});

test('a signed-in system’s map names its user’s sign-in and when the requirement stops accepting it; others name none', () => {
  withRegistry((registry) => {
    const { a, b, server } = setUp(registry);
    const builder = new MapBuilder(registry);
    const selfOf = (id: string) =>
      (JSON.parse(`{${builder.content(registry.lookup(id) as never).text}`) as { self: { signIn?: unknown } }).self;
    assert.deepEqual(selfOf(a).signIn, {
      user: 'alice@example.com',
      authority: alice.provider,
      authenticatedAt: alice.lastAuthAt,
      expiresAt: alice.lastAuthAt + 8 * H,
    });
    assert.equal((selfOf(b).signIn as { expiresAt: number }).expiresAt, alice.lastAuthAt + 9 * H);
    assert.equal(selfOf(server).signIn, undefined, 'a system enrolled with a key has no user');
    // Without a requirement the sign-in is still named, with no expiry.
    const parsed = JSON.parse(POLICY) as { Policies: { TrustRequirements?: unknown }[] };
    delete parsed.Policies[0]!.TrustRequirements;
    const plain = JSON.stringify(parsed);
    const r = parsePolicyFile(plain);
    assert.ok(r.ok);
    if (r.ok) registry.applyPolicy(plain, r.file, 2);
    assert.deepEqual(Object.keys(selfOf(a).signIn as object), ['user', 'authority', 'authenticatedAt']);
  });
});

test('disabling a user computes every map again and leaves their systems out; enabling brings them back', () => {
  withRegistry((registry, changes) => {
    const { a, b } = setUp(registry);
    const now = alice.lastAuthAt + 1;
    const users = usersOf(registry);
    const epoch = registry.worldEpoch;
    changes.length = 0;
    users.setDisabled(registry, users.find('Alice@Example.com')!, true);
    assert.deepEqual(changes, [null], 'one change for every map');
    assert.ok(registry.worldEpoch > epoch);
    assert.equal(registry.store.listUsers().find((u) => u.id === 'u-a')!.disabled, true, 'stored');
    assert.deepEqual([...buildWorld(registry, registry.policy, now).policies[0]!.senders], [b]);
    users.setDisabled(registry, users.find('u-a')!, false);
    assert.deepEqual([...buildWorld(registry, registry.policy, now).policies[0]!.senders].sort(), [a, b].sort());
  });
});

/** FakeClock runs timers when told to. */
class FakeClock implements LapseClock {
  t = 0;
  timers = new Map<number, { at: number; fn: () => void }>();
  private next = 1;
  now(): number {
    return this.t;
  }
  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  }
  clearTimeout(id: unknown): void {
    this.timers.delete(id as number);
  }
  advance(to: number): void {
    this.t = to;
    for (const [id, x] of [...this.timers]) {
      if (x.at > to) continue;
      this.timers.delete(id);
      x.fn();
    }
  }
}

test('one timer: armed for the earliest lapse, a map pass when it fires, armed again for the next; each lapse audited once', () => {
  withRegistry((registry, changes) => {
    setUp(registry);
    const clock = new FakeClock();
    const told: Lapse[] = [];
    const builder = new MapBuilder(registry);
    const t = new LapseTimer(
      () => registry.worldChanged(),
      (l) => told.push(l),
      clock,
    );
    watchLapses(registry, t);
    const t0 = alice.lastAuthAt + 8 * H;
    clock.t = t0 - 1000;
    // MapBuilder evaluates at the real time; observe the Worlds at the fake one instead.
    const observe = (): void => t.observe(buildWorld(registry, registry.policy, clock.t));
    observe();
    assert.equal(t.armedFor, t0 + 1);
    assert.equal(clock.timers.size, 1);
    observe();
    assert.equal(clock.timers.size, 1, 'the same lapse does not arm a second timer');
    changes.length = 0;
    clock.advance(t0 + 1);
    assert.deepEqual(changes, [null], 'the lapse made every map be computed again');
    observe();
    assert.equal(t.armedFor, t0 + H + 1, "armed again for bob's lapse");
    assert.deepEqual(
      told.map((l) => l.email),
      ['alice@example.com'],
    );
    observe();
    assert.equal(told.length, 1, 'a lapse is told once');
    clock.advance(t0 + H + 1);
    observe();
    assert.equal(t.armedFor, null);
    assert.deepEqual(
      told.map((l) => l.email),
      ['alice@example.com', 'bob@example.com'],
    );
    assert.ok(builder.world().epoch === registry.worldEpoch);
    t.stop();
  });
});
