// AutoTags follow the person: alice signs in with `warren login` (Chromium in her namespace,
// against a real OpenID Connect provider, login-lab.ts) and gets tag:dev from
// `AutoTags: {"group:eng": ["tag:dev"]}`; the policy lets tag:dev (not group:eng) ping a server.
// Taken out of eng at the provider, at the next token check (RecheckSeconds 2) her system loses
// tag:dev and the pings stop within 1 s of the check; `systems list` no longer shows the tag.
// Put back and checked again, the tag and the pings come back. Disabling her takes the tag away
// too (a disabled user's groups give nothing), enabling gives it back; each change is audited.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { AdminSystem, AuditEntry } from '../src-shared/wire/admin.js';
import { describeE2E, waitForPing, type Topology } from './netns/index.js';
import { startAliceAndServer, type AliceAndServer } from './oidc/alice-and-server.js';
import { LIMIT_MS, Pinger, cutAfter, restoredAfter, sleep } from './oidc/pinger.js';

const RECHECK_S = 2;
const POLICY = {
  Tags: ['server', 'dev'],
  AutoTags: { 'group:eng': ['tag:dev'] },
  Policies: [{ Name: 'dev to servers', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] }],
};

describeE2E(
  'AutoTags follow the groups: a tag a group gave goes within 1 s of the token check that sees the change',
  { warren: true, binaries: ['curl', 'ping', 'chromium'] },
  { timeout: 180_000 },
  () => {
    let topo: Topology | undefined;
    let room: AliceAndServer;
    let pinger: Pinger | null = null;
    const figures: string[] = [];

    before(async () => {
      room = await startAliceAndServer('ptag', '10.67.0', POLICY, RECHECK_S, (t) => (topo = t));
    });
    after(async () => {
      await pinger?.proc.stop(500);
      await room?.lab.close();
      await topo?.destroy();
      if (figures.length > 0) console.log(`AutoTags figures: ${figures.join('; ')}`);
    });

    /** nth waits for the nth audit entry of action (the token check runs every RECHECK_S). */
    const nth = (action: string, n: number): Promise<AuditEntry> => room.nth(action, n);
    /** aliceTags are the tags `systems list --json` shows for alice's system. */
    const aliceTags = async (): Promise<string[]> => {
      const systems = JSON.parse(await room.lab.c.cli(['systems', 'list', '--json'])) as AdminSystem[];
      const mine = systems.filter((s) => !s.tags.includes('server'));
      assert.equal(mine.length, 1, 'alice has one system');
      return mine[0]!.tags;
    };

    test('out of eng at the provider, alice loses tag:dev and the server within 1 s of the check; back in, both return', async () => {
      assert.deepEqual(await aliceTags(), ['dev'], 'AutoTags gave tag:dev at the sign-in');
      await waitForPing(room.aliceNs, room.server.vip, 15_000);
      pinger = Pinger.start(room.aliceNs, room.server.vip, 'ptags-pinger');
      await sleep(300);

      await room.lab.setUser('alice', { groups: ['Staff'] });
      const check = await nth('user.groups-changed', 1);
      const retag = await nth('system.autotags', 1);
      assert.equal(retag.actor, 'coordinator');
      assert.match(
        retag.detail ?? '',
        /of alice@example\.com: tags dev → \(none\); token check at corp: groups eng,staff → staff/,
      );
      const cut = await cutAfter(pinger, check.at, 'removed from eng');
      figures.push(
        `removed from eng: last reply ${cut} ms after the check (tag change audited ${retag.at - check.at} ms after it)`,
      );
      assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after the check`);
      assert.deepEqual(await aliceTags(), [], 'systems list no longer shows tag:dev');
      assert.doesNotMatch(await room.lab.c.cli(['systems', 'list']), /\bdev\b/);

      await room.lab.setUser('alice', { groups: ['eng', 'Staff'] });
      const again = await nth('user.groups-changed', 2);
      const back = await restoredAfter(pinger, again.at, 'back in eng');
      figures.push(`back in eng: first reply ${back} ms after the check`);
      assert.ok(back < LIMIT_MS, `first reply ${back} ms after the check`);
      assert.match((await nth('system.autotags', 2)).detail ?? '', /tags \(none\) → dev/);
      assert.deepEqual(await aliceTags(), ['dev']);
    });

    test('disabling alice takes tag:dev away with the grants; enabling gives it back, each audited', async () => {
      assert.ok(pinger);
      await room.lab.c.cli(['users', 'disable', 'alice@example.com']);
      const off = await nth('system.autotags', 3);
      assert.equal(off.actor, 'admin');
      assert.match(off.detail ?? '', /tags dev → \(none\); user disabled/);
      const cut = await cutAfter(pinger, off.at, 'disabled');
      figures.push(`disabled: last reply ${cut} ms after the tag change`);
      assert.ok(cut < LIMIT_MS, `replies went on ${cut} ms after the disable`);
      assert.deepEqual(await aliceTags(), []);
      await room.lab.c.cli(['users', 'enable', 'alice@example.com']);
      const on = await nth('system.autotags', 4);
      assert.match(on.detail ?? '', /tags \(none\) → dev; user enabled/);
      const back = await restoredAfter(pinger, on.at, 'enabled');
      figures.push(`enabled: first reply ${back} ms after the tag change`);
      assert.deepEqual(await aliceTags(), ['dev']);
    });
  },
);
