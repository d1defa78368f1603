// The UserAuthentication trust requirement end to end: a real OIDC provider and coordinator
// (login-lab.ts), alice signing in with `warren login` (Chromium in her namespace) and a server
// enrolled with a key; the policy lets group:eng ping the server only while the sign-in is no
// older than MaxAge. A pinger every 20 ms in alice's namespace timestamps each reply, so the
// time from an event (disable, enable, the lapse, a new sign-in) to the last or first reply is
// measured on real traffic through the helpers' firewalls.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, waitForPing, waitUntil, type Namespace } from './netns/index.js';
import { warrenCli } from './netns/warren.js';
import { enrolAndStart, type Enrolled } from './netns/coordinated.js';
import { loginAndStart, signIn, startOidcLab, type OidcLab } from './oidc/login-lab.js';
import { LIMIT_MS, Pinger, cutAfter, restoredAfter, sleep } from './oidc/pinger.js';

const COORD_IP = '10.65.0.100';
const MAX_AGE_S = 20;
const POLICY = {
  Tags: ['server'],
  Policies: [
    {
      Name: 'eng to servers, recently signed in',
      Senders: ['group:eng'],
      Receivers: ['tag:server'],
      Acls: [{ Protocol: 'icmp' }],
      TrustRequirements: [{ Type: 'UserAuthentication', Authority: 'corp', Groups: ['eng'], MaxAge: `${MAX_AGE_S}s` }],
    },
  ],
};

describeE2E(
  'UserAuthentication: a lapsed sign-in or a disabled user loses access within 1 s',
  { warren: true, binaries: ['curl', 'ping', 'chromium'] },
  { timeout: 120_000 },
  () => {
    let topo: Topology;
    let lab: OidcLab;
    let server: Enrolled;
    let alice: Enrolled;
    let aliceNs: Namespace;
    let pinger: Pinger | null = null;
    const figures: string[] = [];

    before(async () => {
      topo = Topology.create();
      const sw = await topo.addSwitch('uauthsw');
      lab = await startOidcLab(topo, sw, 'uauthc', COORD_IP);
      await lab.c.applyPolicy(POLICY);
      const serverNs = await topo.addNamespace('uauths');
      await topo.attach(serverNs, sw, '10.65.0.10/24');
      server = await enrolAndStart(lab.c, serverNs, 'server', 'server');
      aliceNs = await topo.addNamespace('uautha');
      await topo.attach(aliceNs, sw, '10.65.0.1/24');
      alice = await loginAndStart(lab, topo, aliceNs, 'alice');
    });
    after(async () => {
      await pinger?.proc.stop(500);
      await lab?.close();
      await topo?.destroy();
      if (figures.length > 0) console.log(`user-auth figures: ${figures.join('; ')}`);
    });

    const lastAuthAt = async (): Promise<number> =>
      (JSON.parse(await lab.c.cli(['users', 'list', '--json'])) as { email: string; lastAuthAt: number }[]).find(
        (u) => u.email === 'alice@example.com',
      )!.lastAuthAt;

    test('disabling alice cuts her access within 1 s, enabling restores it within 1 s, both audited', async () => {
      await waitForPing(alice.w.ns, server.vip, 15_000);
      pinger = Pinger.start(aliceNs, server.vip, 'uauth-pinger');
      await sleep(300);
      const disabledAt = Date.now();
      assert.match(await lab.c.cli(['users', 'disable', 'alice@example.com']), /alice@example\.com is disabled/);
      const cut = await cutAfter(pinger, disabledAt, 'disable');
      figures.push(`disable cut after ${cut} ms`);
      assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after disable`);
      const enabledAt = Date.now();
      assert.match(await lab.c.cli(['users', 'enable', 'Alice@Example.com']), /alice@example\.com is enabled/);
      const back = await restoredAfter(pinger, enabledAt, 'enable');
      figures.push(`enable restored after ${back} ms`);
      assert.ok(back < LIMIT_MS, `first reply ${back} ms after enable`);
      const audit = JSON.parse(await lab.c.cli(['audit', '--action', 'user.disabled', '--json'])) as {
        target: string;
      }[];
      assert.deepEqual(
        audit.map((e) => e.target),
        ['alice@example.com'],
      );
      assert.match(await lab.c.cli(['audit', '--action', 'user.enabled']), /alice@example\.com/);
    });

    test('the sign-in lapsing at MaxAge cuts access within 1 s; a new sign-in restores it within 1 s', async () => {
      assert.ok(pinger);
      const expiry = (await lastAuthAt()) + MAX_AGE_S * 1000 + 1;
      assert.ok(expiry > Date.now(), 'the sign-in is still fresh');
      const fresh = (await alice.w.status()).signIn;
      assert.deepEqual(
        fresh && [fresh.user, fresh.authority, fresh.expiresAt, fresh.lapsed],
        ['alice@example.com', 'corp', expiry - 1, false],
        'the helper knows its own sign-in from the map, and until when the requirement accepts it',
      );
      const cut = await cutAfter(pinger, expiry, 'lapse');
      figures.push(`lapse cut after ${cut} ms`);
      assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after the lapse`);
      const expired = JSON.parse(await lab.c.cli(['audit', '--action', 'user.auth-expired', '--json'])) as {
        target: string;
        detail: string;
      }[];
      assert.equal(expired.length, 1, 'one entry per lapse');
      assert.equal(expired[0]!.target, 'alice@example.com');
      assert.match(expired[0]!.detail, /older than MaxAge 20s/);
      // The helper names the lapse: in its status (the app's banner shows these) and `warren status`.
      const lapsed = await alice.w.status();
      assert.equal(lapsed.signIn?.lapsed, true);
      const problem = (lapsed.problems ?? []).find((p) => p.startsWith('Your sign-in as alice@example.com expired at'));
      assert.ok(problem, JSON.stringify(lapsed.problems));
      assert.match(
        problem,
        new RegExp(`sign in again \\(warren login --coordinator ${lab.coordUrl.replace(/\./g, '\\.')},`),
      );
      const text = await warrenCli(aliceNs, ['status', '--socket', alice.w.socket]);
      assert.match(text.stdout, /Signed in as: +alice@example\.com \(corp\), expired at \d\d:\d\d: sign in again/);
      assert.match(text.stdout, /Problem: +Your sign-in as alice@example\.com expired at/);
      // The coordinator stores the sign-in when the person presses Confirm on its page; the
      // person's own part before that (consent, the redirect, the page) is Chromium's time.
      const { consentAt, confirmAt } = await signIn(lab, topo, aliceNs, 'alice');
      const back = await restoredAfter(pinger, confirmAt, 'new sign-in');
      figures.push(`new sign-in restored ${back} ms after Confirm (consent to Confirm ${confirmAt - consentAt} ms)`);
      assert.ok(back < LIMIT_MS, `first reply ${back} ms after Confirm`);
      assert.ok((await lastAuthAt()) + 1000 >= consentAt, 'the new sign-in is the authentication in force');
      // The new sign-in reaches the helper with its next map: the lapse is gone from its status.
      const renewed = await waitUntil(
        'the helper to hear of the new sign-in',
        async () => {
          const st = await alice.w.status();
          return st.signIn?.lapsed === false ? st : undefined;
        },
        5000,
        100,
      );
      assert.equal(renewed.signIn!.expiresAt, (await lastAuthAt()) + MAX_AGE_S * 1000);
      assert.deepEqual(
        (renewed.problems ?? []).filter((p) => /sign-in/.test(p)),
        [],
      );
    });
  },
);
