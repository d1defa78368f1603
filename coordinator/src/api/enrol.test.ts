import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseEndpoints } from './enrol.js';
import { reportedEndpoint } from '../../../src-shared/lib/ip/underlay.js';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { CROCKFORD_ALPHABET, identityFromPublicKey, isIdentity } from '../../../src-shared/lib/identity.js';
import { hashKey, newKeyText } from '../auth/enrolment-keys.js';
import { Registry, type RegistryOptions } from '../store/registry.js';
import { SqliteStore } from '../store/sqlite-store.js';
import { buildEnrolRequest, generateAgentKeys, type AgentKeys } from '../testing/agent-sim.js';
import { enrol } from './enrol.js';

interface Fixture {
  registry: Registry;
  /** key is an enrolment key with plenty of uses. */
  key: string;
  done(): void;
}

function fixture(opts: RegistryOptions = {}, ephemeral = false): Fixture {
  const dir = mkdtempSync(join(tmpdir(), 'warren-enrol-'));
  const store = new SqliteStore(join(dir, 'c.db'));
  const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
  const registry = new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0, opts);
  const { key, id } = newKeyText();
  store.insertKey({
    id,
    hash: hashKey(key),
    tags: [],
    approval: 'automatic',
    usesAllowed: 100_000,
    uses: 0,
    ephemeral,
    createdAt: 0,
    expiresAt: Number.MAX_SAFE_INTEGER,
    revokedAt: null,
  });
  return {
    registry,
    key,
    done: () => {
      store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const derived = (k: AgentKeys): string => identityFromPublicKey(Buffer.from(k.wireguardPublicKey, 'base64'));

function enrolWith(f: Fixture, keys: AgentKeys, hostname: string): string {
  const now = Date.now();
  return enrol(f.registry, buildEnrolRequest(keys, f.key, hostname, [], now), null, now).system.identity;
}

test('issued identities are random, well-formed and not derived from the WireGuard key', () => {
  const f = fixture();
  try {
    const issued: string[] = [];
    for (let i = 0; i < 400; i++) {
      const keys = generateAgentKeys();
      const identity = enrolWith(f, keys, `h${i}`);
      assert.ok(isIdentity(identity), identity);
      // A random identity equals the key's hash by chance once in 2^25 enrolments.
      assert.notEqual(identity, derived(keys), `system ${i} got the identity its key hashes to`);
      issued.push(identity);
    }
    assert.equal(new Set(issued).size, issued.length);
    // Every character position takes most of the alphabet: not a counter, not a constant prefix.
    // (400 uniform draws show fewer than 24 of the 32 characters with odds far below 1e-12.)
    for (let pos = 0; pos < 5; pos++) {
      const chars = new Set(issued.map((x) => x[pos]));
      assert.ok(chars.size >= 24, `position ${pos} used only ${[...chars].join('')} of ${CROCKFORD_ALPHABET}`);
    }
  } finally {
    f.done();
  }
});

test("a revoked or removed system's identity is never issued again, even to a key that hashes to it", () => {
  // The attack: grind a WireGuard key whose hash is the identity of a revoked server, enrol with
  // any enrolment key and inherit the grants of policies that still name that identity.
  const offer: string[] = [];
  const f = fixture({ newIdentity: () => offer.shift() ?? '' }, true);
  try {
    const attackerKeys = [generateAgentKeys(), generateAgentKeys()];
    // The victims were issued exactly the identities the attacker's keys hash to.
    offer.push(derived(attackerKeys[0]!));
    const server = f.registry.find(enrolWith(f, generateAgentKeys(), 'server'))!;
    offer.push(derived(attackerKeys[1]!));
    const laptop = f.registry.find(enrolWith(f, generateAgentKeys(), 'laptop'))!;
    assert.deepEqual([server.identity, laptop.identity], attackerKeys.map(derived));
    f.registry.revoke(server);
    f.registry.remove(laptop); // as an ephemeral system offline for too long is

    for (const [i, keys] of attackerKeys.entries()) {
      // Also offered the same identity by the random source: a draw that collides is skipped.
      offer.push(derived(keys));
      const got = enrolWith(f, keys, `attacker${i}`);
      assert.ok(isIdentity(got), got);
      assert.notEqual(got, derived(keys), `attacker ${i} was issued ${got}, a former system's identity`);
    }
    assert.equal(f.registry.find(server.identity), server, 'the revoked identity still names the revoked system');
    assert.equal(f.registry.find(laptop.identity), undefined, 'the removed identity names no system');
  } finally {
    f.done();
  }
});

test('two WireGuard keys whose hashes give the same identity both enrol', () => {
  // The 10,000-system bench died on "identity ... is already taken": key-derived identities
  // collide by the birthday bound (about one pair per 8,000 keys). Find such a pair of keys:
  // any 32 bytes are a WireGuard public key as far as enrolment is concerned.
  const byIdentity = new Map<string, Buffer>();
  let pair: [Buffer, Buffer] | null = null;
  while (pair === null) {
    const pub = randomBytes(32);
    const id = identityFromPublicKey(pub);
    const other = byIdentity.get(id);
    if (other && !other.equals(pub)) pair = [other, pub];
    else byIdentity.set(id, pub);
  }
  assert.equal(
    createHash('sha256').update(pair[0]).digest().readUInt32BE(0) >>> 7,
    createHash('sha256').update(pair[1]).digest().readUInt32BE(0) >>> 7,
  );
  const f = fixture();
  try {
    const got = pair.map((pub, i) =>
      enrolWith(f, { ...generateAgentKeys(), wireguardPublicKey: pub.toString('base64') }, `twin${i}`),
    );
    assert.notEqual(got[0], got[1]);
    assert.equal(f.registry.all().length, 2);
  } finally {
    f.done();
  }
});

test('enrolment endpoints: [v6]:port accepted and canonicalised, duplicates dropped, bare or unusable IPv6 refused', () => {
  assert.deepEqual(parseEndpoints(['198.51.100.2:51820', '[2001:DB8::2]:51820', '[2001:db8::2]:51820']), [
    '198.51.100.2:51820',
    '[2001:db8::2]:51820',
  ]);
  assert.equal(typeof reportedEndpoint('[fe80::2]:51820'), 'object');
  for (const bad of ['2001:db8::2:51820', '[2001:db8::2]', '[2001:db8::2]:0', '[::1]:51820', '[fe80::2]:1'])
    assert.throws(() => parseEndpoints([bad]), /endpoint/, bad);
});
