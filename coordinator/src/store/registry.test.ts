import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { isIdentity } from '../../../src-shared/lib/identity.js';
import { Registry, type NewSystem, type RegistryOptions } from './registry.js';
import type { Store } from './store.js';
import { stopPostgres, storeBackends, withHandle, type Backend } from '../testing/store-backends.js';
import { sampleNewSystem, sampleUserRow } from '../testing/rows.js';
import { usersOf } from './users.js';

after(stopPostgres);

function registry(store: Store, opts: RegistryOptions = {}): Registry {
  const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
  return new Registry(store, parseCidr('100.64.0.0/10')!, 'warren.internal', events, 0, opts);
}

function newSystem(r: Registry, n: number, over: Partial<NewSystem> = {}): NewSystem {
  return sampleNewSystem(n, r.allocate(), over);
}

/** offering makes an identity source that offers the listed identities first, then draws
 * nothing usable (so the registry falls back to its own search). */
function offering(): { offer: string[]; opts: RegistryOptions } {
  const offer: string[] = [];
  return { offer, opts: { newIdentity: () => offer.shift() ?? '' } };
}

for (const b of storeBackends()) registryTests(b);

function registryTests(b: Backend): void {
  const opt = { skip: b.skip };
  // Each enrolment is a transaction; SQLite's are synced to /dev/shm (store-backends.ts), and
  // PostgreSQL's go over a socket, a few statements each, so fewer of them keep the suite short.
  // How fast they go is `npm run bench`'s to say (enrolment over HTTP, side by side): a
  // wall-clock limit here measured the machine's load as much as the registry.
  const count = b.name === 'sqlite' ? 10_000 : 2_000;
  test(
    `[${b.name}] ${count.toLocaleString('en')} systems enrol one after another: none fails and no identity is issued twice`,
    opt,
    () => {
      withHandle(b, (h) => {
        const store = h.open();
        try {
          const r = registry(store);
          const seen = new Set<string>();
          for (let n = 0; n < count; n++) {
            const s = r.insert(newSystem(r, n), n);
            assert.ok(isIdentity(s.identity), s.identity);
            assert.ok(!seen.has(s.identity), `${s.identity} issued twice`);
            seen.add(s.identity);
          }
          assert.equal(seen.size, count);
          assert.equal(new Set(store.listSystems().map((s) => s.identity)).size, count);
          assert.equal(store.issuedIdentities().length, count);
        } finally {
          store.close();
        }
      });
    },
  );

  test(
    `[${b.name}] an identity taken by another writer since this registry loaded is refused by the store and another is issued in the same transaction`,
    opt,
    () => {
      withHandle(b, (h) => {
        const storeA = h.open();
        const storeB = h.open();
        try {
          const a = offering();
          const b = offering();
          const ra = registry(storeA, a.opts);
          const rb = registry(storeB, b.opts);
          a.offer.push('AAAAA');
          assert.equal(ra.insert(newSystem(ra, 1), 1).identity, 'AAAAA');
          // rb loaded before AAAAA was issued, so only the database knows it.
          assert.equal(rb.identityIssued('AAAAA'), false);
          b.offer.push('AAAAA', 'BBBBB');
          let extraRuns = 0;
          const s = rb.insert(newSystem(rb, 2, { address: 0x64400002 }), 2, () => extraRuns++);
          assert.equal(s.identity, 'BBBBB');
          assert.equal(extraRuns, 1, 'the work joined to the enrolment ran once, in the transaction that stuck');
          assert.equal(rb.identityIssued('AAAAA'), true);
          assert.deepEqual(
            storeA
              .listSystems()
              .map((x) => [x.id, x.identity])
              .sort(),
            [
              ['sys-1', 'AAAAA'],
              ['sys-2', 'BBBBB'],
            ],
          );
        } finally {
          storeA.close();
          storeB.close();
        }
      });
    },
  );

  test(
    `[${b.name}] revoked and removed identities stay issued across a restart: the registry never offers them again`,
    opt,
    () => {
      withHandle(b, (h) => {
        const first = h.open();
        const a = offering();
        const r1 = registry(first, a.opts);
        a.offer.push('RRRRR', 'EEEEE', 'KKKKK');
        const revoked = r1.insert(newSystem(r1, 1), 1);
        const removed = r1.insert(newSystem(r1, 2, { ephemeral: true }), 2);
        const live = r1.insert(newSystem(r1, 3), 3);
        assert.deepEqual([revoked.identity, removed.identity, live.identity], ['RRRRR', 'EEEEE', 'KKKKK']);
        r1.revoke(revoked);
        r1.remove(removed);
        // Without a restart too.
        a.offer.push('RRRRR', 'EEEEE', 'KKKKK', 'NNNNN');
        assert.equal(r1.insert(newSystem(r1, 4), 4).identity, 'NNNNN');
        first.close();

        const second = h.open();
        try {
          const b = offering();
          const r2 = registry(second, b.opts);
          for (const id of ['RRRRR', 'EEEEE', 'KKKKK', 'NNNNN']) assert.equal(r2.identityIssued(id), true, id);
          b.offer.push('RRRRR', 'EEEEE', 'KKKKK', 'NNNNN', 'MMMMM');
          assert.equal(r2.insert(newSystem(r2, 5), 5).identity, 'MMMMM');
          // A lookup by the removed system's identity finds nothing; by the revoked one's, the revoked system.
          assert.equal(r2.find('EEEEE'), undefined);
          assert.equal(r2.find('rrrrr')?.state, 'revoked');
        } finally {
          second.close();
        }
      });
    },
  );

  test(`[${b.name}] malformed identities from the identity source are never issued`, opt, () => {
    withHandle(b, (h) => {
      const store = h.open();
      try {
        const o = offering();
        const r = registry(store, o.opts);
        o.offer.push('AAAAI', 'aaaaa', 'AAAA', 'AAAAAA', 'A-AAA', 'AAAAB');
        assert.equal(r.insert(newSystem(r, 1), 1).identity, 'AAAAB');
      } finally {
        store.close();
      }
    });
  });
  test(
    `[${b.name}] systems by owner follow enrolment, a change of owner, revocation, removal and a restart`,
    opt,
    () => {
      withHandle(b, (h) => {
        const first = h.open();
        const r = registry(first);
        const alice = usersOf(r).save(sampleUserRow());
        const bob = usersOf(r).save(sampleUserRow({ id: 'usr-2', subject: 'bob-sub', email: 'bob@example.com' }));
        const ids = (list: { id: string }[]): string[] => list.map((s) => s.id);
        const a1 = r.insert(newSystem(r, 1, { ownerId: alice.id }), 1);
        const a2 = r.insert(newSystem(r, 2, { ownerId: alice.id, ephemeral: true }), 2);
        const b1 = r.insert(newSystem(r, 3, { ownerId: bob.id }), 3);
        r.insert(newSystem(r, 4), 4);
        assert.deepEqual(ids(r.ownedBy(alice.id)), ['sys-1', 'sys-2']);
        assert.deepEqual(r.owners().sort(), [alice.id, bob.id]);
        r.patch(b1, { ownerId: alice.id });
        assert.deepEqual(ids(r.ownedBy(alice.id)), ['sys-1', 'sys-2', 'sys-3'], 'oldest first after a change');
        assert.deepEqual(ids(r.ownedBy(bob.id)), []);
        assert.deepEqual(r.owners(), [alice.id], 'an owner with no systems left is no owner');
        r.revoke(a1);
        assert.deepEqual(ids(r.ownedBy(alice.id)), ['sys-1', 'sys-2', 'sys-3'], 'revoked systems stay owned');
        r.remove(a2);
        assert.deepEqual(ids(r.ownedBy(alice.id)), ['sys-1', 'sys-3']);
        first.close();
        const second = h.open();
        try {
          assert.deepEqual(ids(registry(second).ownedBy(alice.id)), ['sys-1', 'sys-3'], 'after a restart');
        } finally {
          second.close();
        }
      });
    },
  );
}
