// The claim mapping: what an ID token's claims may say, and what is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ClaimRefusal, mapClaims } from './claims.js';
import type { ProviderConfig } from './config.js';

const cfg = (over: Partial<ProviderConfig> = {}): ProviderConfig => ({
  name: 'corp',
  issuer: 'https://idp.example.com',
  clientId: 'c',
  clientSecret: 's',
  scopes: ['openid'],
  emailClaim: 'email',
  groupsClaim: 'groups',
  allowedDomains: [],
  approval: 'automatic',
  allowHttp: false,
  ...over,
});
const base = { iss: 'https://idp.example.com', sub: 'u1', email: 'Alice@Example.COM', auth_time: 1_700_000_000 };

test('email and groups are normalised; unusable group names are counted and left out', () => {
  const who = mapClaims({ ...base, groups: ['Eng', 'eng', '/org/ops', 'has space', 42] }, cfg());
  assert.equal(who.email, 'alice@example.com');
  assert.deepEqual(who.groups, ['/org/ops', 'eng']);
  assert.equal(who.droppedGroups, 2);
  assert.equal(who.authTime, 1_700_000_000_000);
  assert.equal(who.name, '');
});

test('the name claim is kept for display: control characters out, bounded', () => {
  assert.equal(mapClaims({ ...base, name: 'Alice\nExample' }, cfg()).name, 'Alice Example');
  assert.equal(mapClaims({ ...base, name: 'x'.repeat(500) }, cfg()).name.length, 200);
  assert.equal(mapClaims({ ...base, name: 42 }, cfg()).name, '');
});

test('a custom claim mapping and a single group string are read', () => {
  const who = mapClaims(
    { ...base, upn: 'bob@corp.example', roles: 'admins' },
    cfg({ emailClaim: 'upn', groupsClaim: 'roles' }),
  );
  assert.equal(who.email, 'bob@corp.example');
  assert.deepEqual(who.groups, ['admins']);
});

test('what cannot sign anybody in is refused, with the reason', () => {
  const refuses = (claims: Record<string, unknown>, re: RegExp, c = cfg()): void =>
    assert.throws(
      () => mapClaims(claims, c),
      (e: unknown) => e instanceof ClaimRefusal && re.test(e.message),
    );
  refuses({ ...base, email: undefined }, /no email claim/);
  refuses({ ...base, email: 'not an address' }, /not an email address/);
  refuses({ ...base, email: `${'a'.repeat(250)}@example.com` }, /not an email address/);
  refuses({ ...base, email_verified: false }, /not verified/);
  refuses(base, /not in a domain allowed/, cfg({ allowedDomains: ['corp.example'] }));
  refuses({ ...base, groups: Array.from({ length: 257 }, (_, i) => `g${i}`) }, /257 groups/);
  refuses({ ...base, groups: { eng: true } }, /not a list/);
  refuses({ ...base, sub: 'x'.repeat(256) }, /no usable sub/);
  assert.equal(mapClaims(base, cfg({ allowedDomains: ['example.com'] })).email, 'alice@example.com');
});
