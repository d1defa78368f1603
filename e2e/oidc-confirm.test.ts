// The confirmation before enrolling, and cancelling a waiting sign-in, against a real OpenID
// Connect provider and the coordinator's real sign-in (oidc/local-lab.ts), with the person's
// steps in Chromium and the real `warren login` CLI. Signing in at the provider alone enrols
// nothing: a sign-in nobody confirms expires without enrolling; a confirmation without the
// page's token, with a wrong one, or from another origin is refused and audited while the
// page's own Confirm still works; Cancel on the page ends the CLI's wait with a clear message;
// and Ctrl-C in `warren login` cancels the login at the coordinator, whose redirect then says
// "cancelled" and enrols nothing.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { LOGIN_LIMITS, LOGIN_PATHS } from '../src-shared/wire/login.js';
import { warrenArgv } from './netns/warren.js';
import { waitUntil } from './netns/wait.js';
import {
  CHROMIUM,
  poll,
  pollRaw,
  refill,
  refusal,
  signIn,
  start,
  startLocalLab,
  type LocalLab,
} from './oidc/local-lab.js';

const POLICY = { Tags: ['dev'], AutoTags: { 'group:eng': ['tag:dev'] }, Policies: [] };

/** Cli is a running `warren login`. */
interface Cli {
  proc: ChildProcess;
  output(): string;
  waitFor(re: RegExp): Promise<RegExpExecArray>;
  exited: Promise<number | null>;
}

describe('confirming and cancelling a sign-in', { skip: !existsSync(CHROMIUM) && `needs ${CHROMIUM}` }, () => {
  let lab: LocalLab;
  let dir: string;
  const clis: ChildProcess[] = [];

  before(async () => {
    lab = await startLocalLab(POLICY);
    dir = mkdtempSync(join(tmpdir(), 'people-flow-'));
  });
  after(async () => {
    for (const p of clis) if (p.exitCode === null) p.kill('SIGKILL');
    await lab?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** systems are the enrolled systems' hostnames. */
  const systems = async (): Promise<string[]> =>
    (await lab.coord.admin<{ systems: { hostname: string }[] }>('GET', '/v1/admin/systems')).body.systems.map(
      (s) => s.hostname,
    );

  /** audited waits for a refused login.confirm with reason whose detail passes ok. */
  const audited = (reason: string, since: number, ok: (detail: string) => boolean) =>
    waitUntil(
      `a refused login.confirm audited with ${reason}`,
      async () => {
        const a = await lab.coord.admin<{ entries: { reason?: string; detail?: string }[] }>(
          'GET',
          `/v1/admin/audit?action=login.confirm&refused=1&since=${since}`,
        );
        return a.body.entries.find((e) => e.reason === reason && ok(e.detail ?? ''));
      },
      5000,
      100,
    );

  /** login runs `warren login` for a system called hostname and waits for its URL and code. */
  async function login(hostname: string): Promise<Cli & { url: string; code: string }> {
    const proc = spawn(
      warrenArgv()[0]!,
      [
        ...warrenArgv().slice(1),
        ...['login', '--coordinator', lab.coord.url, '--coordinator-key', lab.coord.publicKey, '--no-browser'],
        ...['--profile', join(dir, `${hostname}.profile`), '--state-dir', join(dir, `${hostname}-state`)],
        ...['--hostname', hostname, '--port', '0'],
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    clis.push(proc);
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => (out += d.toString()));
    proc.stderr!.on('data', (d: Buffer) => (out += d.toString()));
    const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)));
    const waitFor = (re: RegExp) =>
      waitUntil(`warren login to print ${re}`, async () => re.exec(out) ?? undefined, 20_000, 50);
    const url = (await waitFor(/^\s+(https?:\/\/\S+)$/m))[1]!;
    const code = (await waitFor(/shows the code ([0-9A-Z]{4}-[0-9A-Z]{4}): press Confirm only if it is this code/))[1]!;
    return { proc, output: () => out, waitFor, exited, url, code };
  }

  test('a sign-in nobody confirms enrols nothing, and expires', async () => {
    const s = await start(lab, '', 'unconfirmed');
    const r = await signIn(lab, s.url, 'alice', {
      press: 'none',
      then: async (page) => {
        assert.deepEqual(await systems(), [], 'nothing enrolled before Confirm');
        // Past the login's lifetime the page's Confirm finds nothing to confirm.
        lab.skewMs = LOGIN_LIMITS.pendingMs + 1000;
        const since = Date.now() + lab.skewMs;
        try {
          const answered = page.waitForResponse((x) => x.url().endsWith(LOGIN_PATHS.confirm));
          await page.getByRole('button', { name: 'Confirm' }).click();
          const a = await answered;
          assert.equal(a.status(), 403);
          assert.match(await a.text(), /unknown, expired or already used/);
          const e = await refusal(lab, 'confirm-token', since, 'login.confirm');
          assert.equal(e.detail, 'unknown token');
          const p = await pollRaw(lab, s.loginId);
          assert.equal(p.status, 404, 'the expired login is gone');
          assert.match(await p.text(), /expired/);
        } finally {
          lab.skewMs = 0;
        }
      },
    });
    assert.equal(r.callback.status, 200);
    assert.match(r.callback.text, /Enrol the system unconfirmed as yours\? It printed the code/);
    assert.deepEqual(await systems(), [], 'still nothing enrolled');
  });

  test('a confirmation without the token, with a wrong one or from another origin is refused and audited; the page’s own Confirm works', async () => {
    await refill(3);
    const own = new URL(lab.coord.url).origin;
    const post = (origin: string | null, body: string) =>
      fetch(`${lab.coord.url}${LOGIN_PATHS.confirm}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', ...(origin ? { origin } : {}) },
        body,
      });
    const s = await start(lab, '', 'forged-at');
    const since = Date.now();
    await signIn(lab, s.url, 'alice', {
      press: 'none',
      then: async (page) => {
        const token = (await page.locator('input[name=token]').getAttribute('value'))!;
        assert.match(token, /^[A-Za-z0-9_-]{43}$/);
        const noToken = await post(own, 'action=confirm');
        assert.equal(noToken.status, 403);
        await audited('confirm-token', since, (d) => d === 'no token');
        const wrong = await post(own, `token=${'A'.repeat(43)}&action=confirm`);
        assert.equal(wrong.status, 403);
        assert.match(await wrong.text(), /unknown, expired or already used/);
        const elsewhere = await post('http://attacker.example', `token=${token}&action=confirm`);
        assert.equal(elsewhere.status, 403);
        assert.match(await elsewhere.text(), /Origin &quot;http:\/\/attacker\.example&quot; is not the coordinator/);
        const noOrigin = await post(null, `token=${token}&action=confirm`);
        assert.equal(noOrigin.status, 403);
        await audited('csrf', since, (d) => /Origin "http:\/\/attacker\.example" is not the coordinator/.test(d));
        await audited('csrf', since, (d) => /has no Origin header/.test(d));
        assert.ok(!(await systems()).includes('forged-at'), 'none of them enrolled the system');
        await refill(1);
        const answered = page.waitForResponse((x) => x.url().endsWith(LOGIN_PATHS.confirm));
        await page.getByRole('button', { name: 'Confirm' }).click();
        const a = await answered;
        assert.equal(a.status(), 200, await a.text());
        assert.match(await a.text(), /Signed in as alice@example\.com/);
      },
    });
    assert.equal((await poll(lab, s.loginId)).status, 'enrolled');
    assert.ok((await systems()).includes('forged-at'));
  });

  test('Cancel on the confirmation page ends warren login’s wait with a clear message, and enrols nothing', async () => {
    await refill(3);
    const cli = await login('cancel-on-page');
    const r = await signIn(lab, cli.url, 'alice', { press: 'Cancel' });
    assert.match(r.callback.text, new RegExp(`It printed the code ${cli.code}`));
    assert.equal(r.confirmed?.status, 200);
    assert.match(r.confirmed!.text, new RegExp(`Nothing was enrolled: the sign-in with code ${cli.code} is cancelled`));
    assert.equal(await cli.exited, 1, cli.output());
    assert.match(
      cli.output(),
      /the sign-in was refused: the person who signed in pressed Cancel on the confirmation page; nothing was enrolled/,
    );
    assert.ok(!(await systems()).includes('cancel-on-page'));
  });

  test('Ctrl-C in warren login cancels the login at the coordinator: its URL then says cancelled and enrols nothing', async () => {
    await refill(3);
    const since = Date.now();
    const cli = await login('interrupted');
    cli.proc.kill('SIGINT');
    assert.equal(await cli.exited, 1, cli.output());
    assert.match(cli.output(), /Sign-in cancelled: its URL no longer enrols anything\./);
    const e = await refusal(lab, 'cancelled', since);
    assert.equal(e.detail, 'cancelled by the system');
    const r = await signIn(lab, cli.url, 'alice');
    assert.equal(r.callback.status, 410);
    assert.match(
      r.callback.text,
      new RegExp(`This sign-in \\(code ${cli.code}\\) was cancelled, so it enrols nothing`),
    );
    assert.ok(!(await systems()).includes('interrupted'));
  });
});
