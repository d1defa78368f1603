// Group changes follow the person: the coordinator checks each signed-in user's groups with the
// refresh token of their sign-in every RecheckSeconds (here 2 s) against a real OIDC provider
// (login-lab.ts). alice signs in with `warren login` (Chromium in her namespace); the policy
// lets group:eng ping a server enrolled with a key. Taken out of eng at the provider, alice
// loses the server within 1 s of the token check that sees it (the audit entry's time), and gets
// it back at the check after she is put back. Deleted at the provider, her refresh token is
// refused: the sign-in lapses, access stops, and that is audited once, not at every tick.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AuditEntry, AdminUser } from '../src-shared/wire/admin.js';
import { describeE2E, waitForPing, type Topology } from './netns/index.js';
import { startAliceAndServer, type AliceAndServer } from './oidc/alice-and-server.js';
import { LIMIT_MS, Pinger, cutAfter, restoredAfter, sleep } from './oidc/pinger.js';

const RECHECK_S = 2;
const POLICY = {
  Tags: ['server'],
  Policies: [
    { Name: 'eng to servers', Senders: ['group:eng'], Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] },
  ],
};

describeE2E(
  'token check: group changes at the provider follow the person within 1 s of the check',
  { warren: true, binaries: ['curl', 'ping', 'chromium'] },
  { timeout: 150_000 },
  () => {
    let topo: Topology | undefined;
    let room: AliceAndServer;
    let pinger: Pinger | null = null;
    const figures: string[] = [];

    before(async () => {
      room = await startAliceAndServer('users', '10.66.0', POLICY, RECHECK_S, (t) => (topo = t));
    });
    after(async () => {
      await pinger?.proc.stop(500);
      await room?.lab.close();
      await topo?.destroy();
      if (figures.length > 0) console.log(`token check figures: ${figures.join('; ')}`);
    });

    const audit = (action: string): Promise<AuditEntry[]> => room.audit(action);
    /** nth waits for the nth audit entry of action (the token check runs every RECHECK_S). */
    const nth = (action: string, n: number): Promise<AuditEntry> => room.nth(action, n);
    const alice = async (): Promise<AdminUser> =>
      (JSON.parse(await room.lab.c.cli(['users', 'list', '--json'])) as AdminUser[]).find(
        (u) => u.email === 'alice@example.com',
      )!;

    test('out of the group at the provider, alice loses the server within 1 s of the check; back in, she gets it back', async () => {
      await waitForPing(room.aliceNs, room.server.vip, 15_000);
      pinger = Pinger.start(room.aliceNs, room.server.vip, 'users-pinger');
      await sleep(300);
      assert.deepEqual((await alice()).groups, ['eng', 'staff']);
      await room.lab.setUser('alice', { groups: ['Staff'] });
      const removed = await nth('user.groups-changed', 1);
      assert.equal(removed.target, 'alice@example.com');
      assert.equal(removed.actor, 'coordinator');
      assert.match(removed.detail ?? '', /token check at corp: groups eng,staff → staff/);
      const cut = await cutAfter(pinger, removed.at, 'removed from eng');
      figures.push(`removed from the group: cut ${cut} ms after the check`);
      assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after the check`);
      const u = await alice();
      assert.deepEqual(u.groups, ['staff']);
      assert.ok(u.checkedAt !== null && u.checkedAt >= removed.at - 1000, 'the check time is shown');

      await room.lab.setUser('alice', { groups: ['eng', 'Staff'] });
      const added = await nth('user.groups-changed', 2);
      assert.match(added.detail ?? '', /groups staff → eng,staff/);
      const back = await restoredAfter(pinger, added.at, 'back in eng');
      figures.push(`back in the group: first reply ${back} ms after the check`);
      assert.ok(back < LIMIT_MS, `first reply ${back} ms after the check`);
    });

    test('a refresh token the provider refuses lapses the sign-in: access stops within 1 s, audited once', async () => {
      assert.ok(pinger);
      await room.lab.setUser('alice', { deleted: true });
      const lapsed = await nth('user.auth-lapsed', 1);
      assert.equal(lapsed.target, 'alice@example.com');
      assert.match(lapsed.detail ?? '', /the provider refused: invalid_grant/);
      assert.match(lapsed.detail ?? '', /until alice@example\.com signs in again/);
      const cut = await cutAfter(pinger, lapsed.at, 'refused refresh');
      figures.push(`refused refresh: cut ${cut} ms after the check`);
      assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after the check`);
      const u = await alice();
      assert.deepEqual(u.groups, []);
      assert.ok(u.lapsedAt !== null, 'the admin API says the sign-in lapsed');
      assert.match(await room.lab.c.cli(['users', 'list']), /alice@example\.com .* lapsed/);
      // Several more check intervals: a lapsed sign-in is not checked (nor audited) again.
      await sleep(3 * RECHECK_S * 1000);
      assert.equal((await audit('user.auth-lapsed')).length, 1);
      assert.equal((await audit('user.groups-changed')).length, 2);
    });
  },
);
