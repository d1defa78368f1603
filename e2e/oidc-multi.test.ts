// Signing in with two coordinators on one PostgreSQL database (docs/coordinator.md "Several
// coordinators"): both have the same PublicUrl, which names a TCP front that forwards each
// connection to the first coordinator alive, as a load balancer would. A sign-in started
// through A goes on through B after A is killed with SIGKILL: the person's browser steps
// (the real provider, Chromium) reach B, the system is enrolled with the user's AutoTags tags
// and the waiting `warren login` gets its answer. With both alive, a state used on A and then
// sent to B is refused, and a confirmation token used on B and then sent to A is refused, both
// audited.
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after, before, test } from 'node:test';
import type { Browser } from 'playwright-core';
import type { AdminSystem, AuditEntry } from '../src-shared/wire/admin.js';
import { LOGIN_PATHS } from '../src-shared/wire/login.js';
import { postgresUnavailable, startPostgres, type PgCluster } from '../coordinator/src/testing/postgres.js';
import { Topology, describeE2E, lastLineTime, type Namespace, type TrackedProcess } from './netns/index.js';
import { startCoordinator, type Coordinator } from './netns/coordinated.js';
import { warrenArgv } from './netns/warren.js';
import { completeAtProvider, startIdpFor } from './oidc/login-lab.js';

const IP = { front: '10.68.0.100', a: '10.68.0.101', b: '10.68.0.102', sys1: '10.68.0.1', sys2: '10.68.0.2' };
const PUBLIC_URL = `http://${IP.front}:8080`;
const POLICY = { Tags: ['dev'], AutoTags: { 'group:eng': ['tag:dev'] }, Policies: [] };

const why = postgresUnavailable();
if (why) test('sign-in across two coordinators on one PostgreSQL', { skip: why }, () => {});
else
  describeE2E(
    'sign-in across two coordinators on one PostgreSQL',
    { warren: true, binaries: ['curl', 'chromium'] },
    { timeout: 180_000 },
    scenario,
  );

function scenario(): void {
  let pg: PgCluster | null = null;
  let topo: Topology;
  let url: string;
  const ns: Record<'front' | 'a' | 'b' | 'sys1' | 'sys2', Namespace | null> = {
    front: null,
    a: null,
    b: null,
    sys1: null,
    sys2: null,
  };
  const co: Record<'a' | 'b', Coordinator | null> = { a: null, b: null };
  let oidcFile: string;
  let coordinatorKey: string;
  const browsers: Browser[] = [];

  const serve = (side: 'a' | 'b'): Promise<Coordinator> =>
    startCoordinator(
      ns[side]!,
      IP[side],
      ['--store', url, '--advertise-url', `http://${IP[side]}:8080`, '--oidc', oidcFile],
      topo.file(`coordinator-${side}`),
    );

  /** login runs `warren login` through the front in the system namespace; it returns the
   * process, the URL and the code once printed. */
  const login = async (
    side: 'sys1' | 'sys2',
    user: string,
  ): Promise<{ proc: TrackedProcess; url: string; code: string }> => {
    const stateDir = topo.file(`warren-${side}-state`);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const proc = ns[side]!.spawn(
      [
        ...warrenArgv(),
        ...['login', '--coordinator', PUBLIC_URL, '--coordinator-key', coordinatorKey, '--no-browser'],
        ...['--profile', topo.file(`${side}.profile`), '--state-dir', stateDir],
        ...['--hostname', `${user}-laptop`, '--port', '51820'],
      ],
      { name: `login-${side}` },
    );
    const link = (await proc.waitFor(/^\s+(https?:\/\/\S+)$/m, 20_000))[1]!;
    const code = (await proc.waitFor(/shows the code ([0-9A-Z]{4}-[0-9A-Z]{4})/))[1]!;
    return { proc, url: link, code };
  };
  const refusals = async (c: Coordinator, action: string): Promise<AuditEntry[]> =>
    (JSON.parse(await c.cli(['audit', '--action', action, '--json'])) as AuditEntry[]).filter(
      (e) => e.outcome === 'refused',
    );
  /** curlStatus runs curl in ns and returns the HTTP status and the body. */
  const curl = async (where: Namespace, args: string[]): Promise<{ status: number; body: string }> => {
    const r = await where.exec(['curl', '-s', '-w', '\n%{http_code}', ...args], { timeoutMs: 10_000 });
    const cut = r.stdout.lastIndexOf('\n');
    return { status: Number(r.stdout.slice(cut + 1)), body: r.stdout.slice(0, cut) };
  };

  before(async () => {
    pg = startPostgres();
    pg.createDatabase('warren');
    url = pg.socketUrl('warren');
    topo = Topology.create();
    const sw = await topo.addSwitch('msisw');
    for (const side of ['front', 'a', 'b', 'sys1', 'sys2'] as const) {
      ns[side] = await topo.addNamespace(`msi-${side}`);
      await topo.attach(ns[side]!, sw, `${IP[side]}/24`);
    }
    ({ oidcFile } = await startIdpFor(topo, ns.front!, IP.front, PUBLIC_URL));
    const front = join(dirname(fileURLToPath(import.meta.url)), 'oidc', 'front.js');
    const proc = ns.front!.spawn([process.execPath, front, IP.front, '8080', `${IP.a}:8080`, `${IP.b}:8080`], {
      name: 'front',
    });
    await proc.waitFor(/front ready/);
    co.a = await serve('a');
    // B shares A's secrets (the sealing of pending sign-ins is keyed from admin.token).
    const dirB = topo.file('coordinator-b');
    mkdirSync(dirB, { recursive: true, mode: 0o700 });
    for (const f of ['signing.key', 'admin.token', 'nat.key']) copyFileSync(join(co.a.dataDir, f), join(dirB, f));
    co.b = await serve('b');
    await co.a.applyPolicy(POLICY);
    coordinatorKey = (JSON.parse(await co.a.cli(['key', '--json'])) as { publicKey: string }).publicKey;
  });
  after(async () => {
    for (const b of browsers) await b.close().catch(() => {});
    for (const c of [co.a, co.b]) await c?.stop();
    await topo?.destroy();
    pg?.stop();
  });

  test('a sign-in started through A is finished through B after A is killed; the waiting login gets its answer', async (t) => {
    const { proc, url: link, code } = await login('sys1', 'alice');
    assert.match(co.a!.output(), new RegExp(`login started for alice-laptop .*\\(code ${code}\\)`), 'A started it');
    await co.a!.kill();
    co.a = null;
    await completeAtProvider({ browsers }, topo, ns.sys1!, link, 'alice', { code, hostname: 'alice-laptop' });
    await proc.waitFor(/Signed in as alice@example\.com/, 30_000);
    const answeredAt = Date.now();
    const { code: exit } = await proc.exited;
    assert.equal(exit, 0, proc.output());
    const calledBack = lastLineTime(co.b!.output(), new RegExp(`login ${code}: alice@example.com signed in`));
    const enrolled = lastLineTime(co.b!.output(), /login: alice@example.com enrolled/);
    t.diagnostic(
      `B's callback to the login's answer: ${answeredAt - calledBack} ms (B's enrolment to the answer: ${answeredAt - enrolled} ms)`,
    );
    const systems = JSON.parse(await co.b!.cli(['systems', 'list', '--json'])) as AdminSystem[];
    const mine = systems.filter((s) => s.hostname === 'alice-laptop');
    assert.equal(mine.length, 1, 'one system enrolled');
    assert.equal(mine[0]!.owner, 'alice@example.com');
    assert.deepEqual(mine[0]!.tags, ['dev'], "the AutoTags tag of alice's group eng");
    co.a = await serve('a');
  });

  test('a state used on A is refused on B, and a confirmation token used on B is refused on A; both audited', async () => {
    const stateBefore = (await refusals(co.b!, 'login')).filter((e) => e.reason === 'state-unknown').length;
    const { proc, url: link, code } = await login('sys2', 'bob');
    assert.match(co.a!.output(), new RegExp(`\\(code ${code}\\)`), 'the front sent the start to A, the first alive');
    let callback = '';
    await completeAtProvider({ browsers }, topo, ns.sys2!, link, 'bob', {
      code,
      watch: (page) =>
        page.on('request', (r) => {
          if (new URL(r.url()).pathname === LOGIN_PATHS.callback) callback = r.url();
        }),
      beforeConfirm: async (page) => {
        // The login waits for Confirm, so its row is there: only its used-up state can refuse.
        assert.ok(callback.startsWith(PUBLIC_URL), callback);
        const replay = await curl(ns.sys2!, [callback.replace(PUBLIC_URL, `http://${IP.b}:8080`)]);
        assert.equal(replay.status, 400, replay.body);
        assert.match(replay.body, /unknown, expired or already used/);
        // The token's first use is on B; the browser's Confirm then reaches A with it.
        const token = await page.locator('input[name=token]').inputValue();
        const first = await curl(ns.sys2!, [
          ...['-H', `Origin: ${PUBLIC_URL}`, '--data-urlencode', `token=${token}`, '--data', 'action=confirm'],
          `http://${IP.b}:8080${LOGIN_PATHS.confirm}`,
        ]);
        assert.equal(first.status, 200, first.body);
        assert.match(first.body, /Signed in as bob@example\.com/);
      },
      confirmRefused: true,
    });
    const { code: exit } = await proc.exited;
    assert.equal(exit, 0, proc.output());
    assert.match(proc.output(), /Signed in as bob@example\.com/);
    const states = (await refusals(co.b!, 'login')).filter((e) => e.reason === 'state-unknown');
    assert.equal(states.length, stateBefore + 1, 'the replayed state is audited');
    const tokens = (await refusals(co.a!, 'login.confirm')).filter((e) => e.reason === 'confirm-token');
    assert.equal(tokens.length, 1, 'the replayed confirmation token is audited');
    assert.equal(tokens[0]!.source, IP.front, 'the browser came through the front');
  });
}
