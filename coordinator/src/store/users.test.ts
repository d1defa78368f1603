// Users on both store backends: one row per issuer and subject, a second sign-in updates it and
// keeps its id, and a system records its owner.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { stopPostgres, storeBackends, withHandle } from '../testing/store-backends.js';
import { sampleSystemRow, sampleUserRow } from '../testing/rows.js';

after(stopPostgres);

const alice = sampleUserRow;

for (const b of storeBackends()) {
  test(
    `${b.name}: a user signing in again keeps the id and gets the provider's new email, groups and time`,
    { skip: b.skip },
    () =>
      withHandle(b, (h) => {
        const s = h.open();
        try {
          const first = s.saveUser(alice(), null);
          assert.deepEqual(first, alice());
          const again = s.saveUser(
            alice({ id: 'usr-2', email: 'alice@new.example.com', groups: ['eng', 'ops'], lastAuthAt: 5000 }),
            null,
          );
          assert.equal(again.id, 'usr-1');
          assert.equal(again.email, 'alice@new.example.com');
          assert.deepEqual(again.groups, ['eng', 'ops']);
          assert.equal(again.lastAuthAt, 5000);
          assert.equal(again.createdAt, 1000);
          // The same subject at another issuer is another person (OpenID Connect Core §2).
          const other = s.saveUser(alice({ id: 'usr-3', issuer: 'https://other.example.com' }), null);
          assert.equal(other.id, 'usr-3');
          assert.deepEqual(
            s.listUsers().map((u) => u.id),
            ['usr-1', 'usr-3'],
          );
        } finally {
          s.close();
        }
      }),
  );

  test(`${b.name}: a system keeps its owner across a reopen, and a key-enrolled one has none`, { skip: b.skip }, () =>
    withHandle(b, (h) => {
      let s = h.open();
      s.saveUser(alice(), null);
      s.insertSystem(sampleSystemRow({ id: 'sys-a', ownerId: 'usr-1' }));
      s.insertSystem(
        sampleSystemRow({ id: 'sys-k', identity: 'H982V', wgKey: 'wg2', machineKey: 'mk2', name: 'k', address: 2 }),
      );
      s.close();
      s = h.open();
      try {
        const byId = new Map(s.listSystems().map((x) => [x.id, x.ownerId]));
        assert.equal(byId.get('sys-a'), 'usr-1');
        assert.equal(byId.get('sys-k'), null);
      } finally {
        s.close();
      }
    }),
  );

  test(
    `${b.name}: the refresh token is stored apart from the rows; a token check sets the groups, a sign-in replaces it`,
    { skip: b.skip },
    () =>
      withHandle(b, (h) => {
        const s = h.open();
        try {
          s.saveUser(alice(), 'sealed-1');
          assert.equal(s.userRefreshToken('usr-1'), 'sealed-1');
          assert.ok(!JSON.stringify(s.listUsers()).includes('sealed-1'), 'the rows do not carry it');
          assert.ok(
            s.userChecked('usr-1', {
              signIn: 1000,
              groups: ['ops'],
              checkedAt: 7000,
              refreshToken: 'sealed-2',
              lapsedAt: 7000,
            }),
          );
          const [u] = s.listUsers();
          assert.deepEqual([u!.groups, u!.checkedAt, u!.lapsedAt], [['ops'], 7000, 7000]);
          assert.equal(s.userRefreshToken('usr-1'), 'sealed-2', 'a rotated token is kept');
          const again = s.saveUser(alice({ id: 'usr-9', lastAuthAt: 8000 }), null);
          assert.deepEqual([again.id, again.groups, again.checkedAt, again.lapsedAt], ['usr-1', ['eng'], null, null]);
          assert.equal(s.userRefreshToken('usr-1'), null, 'a sign-in without one leaves none');
        } finally {
          s.close();
        }
      }),
  );
}
