// Console sessions, the login limiter and the CSRF rules, on their own with a fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cookieValue,
  csrfProblem,
  LoginLimiter,
  SESSION_LIMITS,
  sessionCookie,
  SessionStore,
  tokenMatches,
} from './session.js';

const clock = (): { now: () => number; advance: (ms: number) => void } => {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
};

test('a session id is 256 random bits in base64url, and only the id given out opens the session', () => {
  const c = clock();
  const s = new SessionStore(c.now);
  const a = s.create();
  const b = s.create();
  assert.match(a.id, /^[A-Za-z0-9_-]{43}$/);
  assert.equal(Buffer.from(a.id, 'base64url').length, 32);
  assert.notEqual(a.id, b.id);
  assert.equal(a.expiresAt, c.now() + SESSION_LIMITS.lifetimeMs);
  assert.ok(s.use(a.id));
  assert.equal(s.use(`${a.id.slice(0, -1)}${a.id.endsWith('A') ? 'B' : 'A'}`), null);
  assert.equal(s.use('short'), null);
  assert.equal(s.use(`${a.id}x`), null);
});

test('a session ends after an hour without use, however young it is', () => {
  const c = clock();
  const s = new SessionStore(c.now);
  const { id } = s.create();
  c.advance(SESSION_LIMITS.idleMs - 1);
  assert.ok(s.use(id), 'used just before the idle timeout');
  c.advance(SESSION_LIMITS.idleMs - 1);
  assert.ok(s.use(id), 'use restarts the idle clock');
  c.advance(SESSION_LIMITS.idleMs);
  assert.equal(s.use(id), null);
  assert.equal(s.size, 0, 'an ended session is forgotten');
});

test('a session ends 12 h after login even when used all the time', () => {
  const c = clock();
  const s = new SessionStore(c.now);
  const { id } = s.create();
  for (let h = 0; h < 11; h++) {
    c.advance(SESSION_LIMITS.idleMs - 60_000);
    assert.ok(s.use(id), `still open after ${h + 1} busy hours`);
  }
  const left = s.use(id)!;
  assert.ok(left.expiresAt <= 1_000_000 + SESSION_LIMITS.lifetimeMs, 'expiresAt never passes the lifetime');
  c.advance(SESSION_LIMITS.lifetimeMs);
  assert.equal(s.use(id), null);
});

test('at most maxSessions sessions: the oldest is evicted first', () => {
  const c = clock();
  const s = new SessionStore(c.now, { maxSessions: 3, lifetimeMs: 3_600_000, idleMs: 3_600_000 });
  const ids = [s.create().id, s.create().id, s.create().id];
  const fourth = s.create().id;
  assert.equal(s.size, 3);
  assert.equal(s.use(ids[0]!), null, 'the oldest is gone');
  assert.ok(s.use(ids[1]!));
  assert.ok(s.use(fourth));
  s.end(fourth);
  assert.equal(s.use(fourth), null, 'logout ends the session');
});

test('tokenMatches compares whole tokens, whatever their lengths', () => {
  assert.ok(tokenMatches('wrn_abc', 'wrn_abc'));
  assert.ok(!tokenMatches('wrn_ab', 'wrn_abc'));
  assert.ok(!tokenMatches('wrn_abcd', 'wrn_abc'));
  assert.ok(!tokenMatches('', 'wrn_abc'));
});

test('the login limiter refuses a source after its failures, others not, and forgets them a window later', () => {
  const c = clock();
  const l = new LoginLimiter(c.now);
  for (let i = 0; i < SESSION_LIMITS.failuresPerSource; i++) {
    assert.ok(!l.blocked('192.0.2.1'));
    l.failed('192.0.2.1');
  }
  assert.ok(l.blocked('192.0.2.1'));
  assert.ok(!l.blocked('192.0.2.2'));
  assert.ok(l.retryAfterS() >= 1 && l.retryAfterS() <= 60);
  c.advance(SESSION_LIMITS.failureWindowMs);
  assert.ok(!l.blocked('192.0.2.1'));
});

test('the limiter remembers a bounded number of sources', () => {
  const c = clock();
  const l = new LoginLimiter(c.now, { failuresPerSource: 1, failureWindowMs: 60_000, sources: 10 });
  for (let i = 0; i < 25; i++) l.failed(`10.0.0.${i}`);
  assert.ok(l.blocked('10.0.0.24'), 'the newest source is counted');
  let remembered = 0;
  for (let i = 0; i < 25; i++) if (l.blocked(`10.0.0.${i}`)) remembered++;
  assert.ok(remembered <= 10, `at most 10 sources remembered, not ${remembered}`);
});

const req = (over: Partial<Parameters<typeof csrfProblem>[0]>): Parameters<typeof csrfProblem>[0] => ({
  method: 'POST',
  consoleHeader: '1',
  origin: 'http://127.0.0.1:8080',
  host: '127.0.0.1:8080',
  tls: false,
  ...over,
});

test('CSRF: GET passes; a changing request needs X-Warren-Console: 1 and, if sent, its own Origin', () => {
  assert.equal(csrfProblem(req({ method: 'GET', consoleHeader: undefined, origin: 'https://evil.example' })), null);
  assert.equal(csrfProblem(req({})), null);
  assert.equal(csrfProblem(req({ origin: undefined })), null, 'no Origin: the header alone');
  assert.match(csrfProblem(req({ consoleHeader: undefined }))!, /X-Warren-Console: 1/);
  assert.match(csrfProblem(req({ consoleHeader: 'yes' }))!, /X-Warren-Console: 1/);
  assert.match(csrfProblem(req({ method: 'DELETE', origin: 'https://evil.example' }))!, /not the coordinator's own/);
  assert.match(csrfProblem(req({ origin: 'https://127.0.0.1:8080' }))!, /not the coordinator's own/, 'scheme counts');
  assert.equal(csrfProblem(req({ origin: 'https://c.example:8443', host: 'c.example:8443', tls: true })), null);
  assert.match(csrfProblem(req({ origin: 'null' }))!, /not the coordinator's own/);
  assert.match(csrfProblem(req({ host: undefined }))!, /no Host header/);
});

test('the cookie: HttpOnly, SameSite=Strict, Path=/v1/admin, Secure only over TLS; parsing finds it', () => {
  const plain = sessionCookie('abc', false, 60);
  assert.match(plain, /^warren_session=abc; HttpOnly; SameSite=Strict; Path=\/v1\/admin; Max-Age=60$/);
  assert.match(sessionCookie('abc', true, 60), /; Secure$/);
  assert.equal(cookieValue('a=1; warren_session=xyz; b=2', 'warren_session'), 'xyz');
  assert.equal(cookieValue('warren_sessionx=1', 'warren_session'), null);
  assert.equal(cookieValue(undefined, 'warren_session'), null);
  assert.equal(cookieValue(`warren_session=${'a'.repeat(9000)}`, 'warren_session'), null);
});
