// The pending logins in the store, on both backends: bounded in total and per source, expiring,
// each state and confirmation token usable once, also by two coordinators on one database, and
// nothing secret readable in the table.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { loginCode, PendingLogins, TableFull } from './pending.js';
import type { LoginStartRequest } from '../../../src-shared/wire/login.js';
import type { Store } from '../store/store.js';
import { stopPostgres, storeBackends, type StoreHandle } from '../testing/store-backends.js';

after(stopPostgres);

const req = { hostname: 'h' } as LoginStartRequest;
const entry = (state: string, source: string | null = null) => ({
  provider: 'p',
  state,
  nonce: `nonce-${state}`,
  codeVerifier: `verifier-${state}`,
  request: req,
  source,
});
const who = {
  issuer: 'i',
  subject: 's',
  email: 'a@example.com',
  name: '',
  groups: [],
  authTime: null,
  droppedGroups: 0,
};
const bounds = (total: number, perSource = total) => ({ total, perSource, checkMs: 20 });

/** two opens the database twice, as two coordinators on it would, and closes both after. */
async function two(h: StoreHandle, fn: (a: Store, b: Store) => Promise<void> | void): Promise<void> {
  const a = h.open();
  const b = h.open();
  try {
    await fn(a, b);
  } finally {
    a.close();
    b.close();
  }
}

for (const b of storeBackends()) {
  const each = (name: string, fn: (h: StoreHandle) => Promise<void> | void): void => {
    test(`${b.name}: ${name}`, { skip: b.skip }, async () => {
      // Not withHandle: that disposes of the database when fn returns, before an async fn ends.
      const h = b.fresh();
      try {
        await fn(h);
      } finally {
        h.dispose();
      }
    });
  };

  each('the table refuses a login beyond its capacity, or its source’s share, until one expires', (h) =>
    two(h, (sa) => {
      const t = new PendingLogins(sa, 'admin', 1000, bounds(3, 2));
      t.add(entry('s1', '198.51.100.1'), 0);
      t.add(entry('s2', '198.51.100.1'), 500);
      assert.throws(() => t.add(entry('s3', '198.51.100.1'), 900), TableFull, 'the source has its 2');
      t.add(entry('s3', '198.51.100.2'), 900);
      assert.throws(() => t.add(entry('s4', '198.51.100.3'), 900), TableFull, 'the table has its 3');
      // At 1000 the first expired: the sweep in add deletes it and makes room for one.
      t.add(entry('s4', '198.51.100.1'), 1000);
      assert.equal(t.size, 3);
      assert.throws(() => t.add(entry('s5', null), 1000), TableFull);
    }),
  );

  each('a state is taken once, by whichever coordinator; an expired login is not found', (h) =>
    two(h, (sa, sb) => {
      const ta = new PendingLogins(sa, 'admin', 1000, bounds(10));
      const tb = new PendingLogins(sb, 'admin', 1000, bounds(10));
      const { login, loginId } = ta.add(entry('s1'), 0);
      const taken = tb.takeState('s1', 10);
      assert.equal(taken?.id, login.id);
      assert.equal(taken?.nonce, 'nonce-s1', 'the other coordinator opens the sealed secrets');
      assert.equal(taken?.codeVerifier, 'verifier-s1');
      assert.equal(taken?.code, loginCode(loginId));
      assert.equal(ta.takeState('s1', 20), undefined, 'a replayed state finds nothing');
      ta.add(entry('s2'), 0);
      assert.equal(tb.takeState('s2', 1000), undefined, 'expired');
      assert.equal(tb.get(loginId, 999)?.id, login.id);
      assert.equal(tb.get(loginId, 1000), undefined);
    }),
  );

  each('a coordinator with another admin token cannot open the secrets and finds no login', (h) =>
    two(h, (sa, sb) => {
      new PendingLogins(sa, 'admin', 1000, bounds(10)).add(entry('s1'), 0);
      assert.equal(new PendingLogins(sb, 'other', 1000, bounds(10)).takeState('s1', 1), undefined);
    }),
  );

  each('the table keeps no login id, state, nonce, verifier or confirmation token in clear', (h) =>
    two(h, (sa) => {
      const t = new PendingLogins(sa, 'admin', 60_000, bounds(10));
      const { login, loginId } = t.add(entry('state-in-clear'), 0);
      const token = t.verify(login, { who, sealed: null })!;
      const row = JSON.stringify(sa.pendingLogins('get', [login.id, 1]));
      for (const secret of [loginId, 'state-in-clear', 'nonce-state-in-clear', 'verifier-state-in-clear', token])
        assert.ok(!row.includes(secret), `${secret} is not in the row`);
    }),
  );

  each('a confirmation token is used once across coordinators; an expired login’s token finds nothing', (h) =>
    two(h, (sa, sb) => {
      const ta = new PendingLogins(sa, 'admin', 1000, bounds(10));
      const tb = new PendingLogins(sb, 'admin', 1000, bounds(10));
      const { login } = ta.add(entry('s1'), 0);
      const token = ta.verify(login, { who, sealed: null })!;
      assert.match(token, /^[A-Za-z0-9_-]{43}$/);
      assert.equal(tb.takeToken('another', 10), undefined);
      const taken = tb.takeToken(token, 10);
      assert.equal(taken?.id, login.id);
      assert.deepEqual(taken?.verified, { who, sealed: null });
      assert.equal(ta.takeToken(token, 20), undefined, 'used once');
      const m = ta.add(entry('s2'), 0).login;
      const late = ta.verify(m, { who, sealed: null })!;
      assert.equal(tb.takeToken(late, 1000), undefined, 'expired');
    }),
  );

  each('a poll waiting on one coordinator wakes when another records the outcome; it is collected once', (h) =>
    two(h, async (sa, sb) => {
      const ta = new PendingLogins(sa, 'admin', 60_000, bounds(10));
      const tb = new PendingLogins(sb, 'admin', 60_000, bounds(10));
      const { loginId } = ta.add(entry('s1'), Date.now());
      const onA = ta.get(loginId, Date.now())!;
      const started = Date.now();
      const waiting = ta.wait(onA, 5000);
      setTimeout(() => tb.finish(tb.get(loginId, Date.now())!, { status: 'refused', code: 'x', message: 'no' }), 20);
      await waiting;
      assert.ok(Date.now() - started < 2000, `woken after ${Date.now() - started} ms, not at the 5 s timeout`);
      assert.deepEqual(tb.collect(onA, Date.now()), { status: 'refused', code: 'x', message: 'no' });
      assert.equal(ta.collect(onA, Date.now()), null, 'collected once');
      assert.equal(ta.get(loginId, Date.now()), undefined);
      ta.close();
      tb.close();
    }),
  );

  each('a cancelled login answers its poll with the refusal, and its state and token still say cancelled', (h) =>
    two(h, async (sa, sb) => {
      const t = new PendingLogins(sa, 'admin', 60_000, bounds(10));
      const other = new PendingLogins(sb, 'admin', 60_000, bounds(10));
      const now = Date.now();
      const { login: l } = t.add(entry('s1'), now);
      const token = t.verify(l, { who, sealed: null })!;
      const waiting = t.wait(l, 5000);
      assert.equal(t.cancel(l, 'cancelled by the system'), true);
      await waiting;
      assert.equal(other.cancel(l, 'again'), false, 'an ended login is not cancelled twice');
      assert.equal(other.takeToken(token, now)?.cancelled, true);
      const again = t.add(entry('s2'), now).login;
      t.cancel(again, 'cancelled');
      assert.equal(other.takeState('s2', now)?.cancelled, true, 'the redirect finds it, to say so');
      assert.equal(other.verify(again, { who, sealed: null }), null, 'a cancelled login gets no token');
      assert.deepEqual(other.collect(l, now), {
        status: 'refused',
        code: 'cancelled',
        message: 'cancelled by the system',
      });
      t.close();
    }),
  );

  each('a start proof is accepted once across coordinators, again after keepMs, and none past the bound', (h) =>
    two(h, (sa, sb) => {
      const ta = new PendingLogins(sa, 'admin', 1000, bounds(10));
      const tb = new PendingLogins(sb, 'admin', 1000, bounds(10));
      assert.equal(ta.firstStart('proof-1', 0, 120_000, 2), true);
      assert.equal(tb.firstStart('proof-1', 10, 120_000, 2), false, 'replayed at the other coordinator');
      assert.equal(tb.firstStart('proof-2', 10, 120_000, 2), true);
      assert.equal(ta.firstStart('proof-3', 20, 120_000, 2), false, 'two fresh proofs kept: the bound');
      assert.equal(ta.firstStart('proof-1', 120_000, 120_000, 2), true, 'forgotten once older than keepMs');
    }),
  );

  each('login ids are random and long; codes are 4+4 Crockford base32', (h) =>
    two(h, (sa) => {
      const t = new PendingLogins(sa, 'admin', 1000, bounds(10));
      const a = t.add(entry('a'), 0);
      const c = t.add(entry('b'), 0);
      assert.notEqual(a.loginId, c.loginId);
      assert.ok(a.loginId.length >= 43);
      assert.match(a.login.code, /^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
    }),
  );
}
