// Admin commands name systems by name as well as by id or identity, refuse an ambiguous name with
// the candidates, and show an online system as seen now.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AdminSystem } from '../api/admin-types.js';
import { cli } from './testing.js';
import { enrolledAgent, startTestCoordinator } from '../testing/testing.js';

test('systems show, approve, tag and revoke take a system name; an ambiguous one lists the candidates', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    const server = await enrolledAgent(c, ['server'], 'Build-Server', 'gated');
    const laptop = await enrolledAgent(c, ['dev'], 'laptop');

    const shown = await cli('systems', 'show', 'build-server', ...data);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, new RegExp(`identity: {3}${server.identity}\\n`));
    assert.match(shown.out, /state: {6}pending/);
    const approved = await cli('systems', 'approve', 'BUILD-SERVER', ...data);
    assert.equal(approved.out, `${server.identity} (build-server) is active\n`, approved.err);
    const tagged = await cli('systems', 'tag', 'laptop', '--add', 'ops', ...data);
    assert.equal(tagged.out, `${laptop.identity} (laptop) tags: dev,ops\n`, tagged.err);

    // A name that is also another system's identity names two systems: refused, with both listed.
    const clash = laptop.identity.toLowerCase();
    assert.equal((await cli('systems', 'rename', 'build-server', clash, ...data)).code, 0);
    const ambiguous = await cli('systems', 'show', clash, ...data);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.err, new RegExp(`conflict: "${clash}" names more than one system: `));
    assert.match(ambiguous.err, new RegExp(`${laptop.identity} \\(laptop, active\\)`));
    assert.match(ambiguous.err, new RegExp(`${server.identity} \\(${clash}, active\\)`));
    assert.match(ambiguous.err, /give the identity or system id instead/);
    assert.equal((await cli('systems', 'rename', server.identity, 'build-server', ...data)).code, 0);

    const unknown = await cli('systems', 'show', 'printer', ...data);
    assert.equal(unknown.code, 1);
    assert.match(
      unknown.err,
      /not-found: no system has the id, identity or name "printer"; see warren-coordinator systems list/,
    );

    // A revoked system's name is free again, but still finds it while no live system has it.
    assert.equal(
      (await cli('systems', 'revoke', 'build-server', ...data)).out,
      `${server.identity} (build-server) is revoked\n`,
    );
    const revoked = await cli('systems', 'show', 'build-server', '--json', ...data);
    assert.equal((JSON.parse(revoked.out) as AdminSystem).state, 'revoked', revoked.err);

    // delete takes a name too, and a live system's name is refused, not deleted.
    const live = await cli('systems', 'delete', 'laptop', ...data);
    assert.equal(live.code, 1);
    assert.match(live.err, new RegExp(`${laptop.identity} \\(laptop\\) is active; revoke it first`));
    const deleted = await cli('systems', 'delete', 'build-server', ...data);
    assert.equal(deleted.code, 0, deleted.err);
    assert.match((await cli('systems', 'show', 'build-server', ...data)).err, /not-found: no system has the id/);

    const audit = await cli('audit', '--action', 'systems', '--json', ...data);
    const targets = (JSON.parse(audit.out) as { action: string; target: string }[]).map(
      (e) => `${e.action} ${e.target}`,
    );
    assert.ok(
      targets.includes(`systems.approve ${server.identity}`),
      `audit names the identity: ${targets.join('; ')}`,
    );
    assert.ok(targets.includes(`systems.revoke ${server.identity}`), targets.join('; '));
  } finally {
    await c.dispose();
  }
});

test('an online system is seen now: LAST SEEN says now, and lastSeen in JSON is the time of the answer', async () => {
  let skew = 0;
  const c = await startTestCoordinator({ now: () => Date.now() + skew });
  try {
    const data = ['--data', c.dataDir];
    const agent = await enrolledAgent(c, ['dev'], 'laptop');
    const watch = await agent.watch(() => {});
    try {
      const deadline = Date.now() + 10_000;
      while (!(JSON.parse((await cli('systems', 'show', 'laptop', '--json', ...data)).out) as AdminSystem).online) {
        assert.ok(Date.now() < deadline, 'the watch stream made the system online');
        await new Promise((r) => setTimeout(r, 50));
      }
      // An hour on, the stream still open: the system was seen now, not when its stream opened.
      skew = 3_600_000;
      const before = Date.now() + skew;
      const s = JSON.parse((await cli('systems', 'show', 'laptop', '--json', ...data)).out) as AdminSystem;
      assert.ok(s.lastSeen !== null && s.lastSeen >= before, `lastSeen ${s.lastSeen} is not before ${before}`);
      const table = (await cli('systems', 'list', ...data)).out;
      assert.match(table, new RegExp(`${agent.identity}\\s+laptop\\s.*\\bactive\\s+yes\\s+dev\\s+-\\s+now\\s+sys-`));
      assert.match((await cli('systems', 'show', 'laptop', ...data)).out, /last seen: {2}now \(online\)/);
    } finally {
      watch.close();
      await watch.done;
    }
    // Once offline, the timestamp is when it went away, and the table shows it.
    const deadline = Date.now() + 10_000;
    let s: AdminSystem;
    while ((s = JSON.parse((await cli('systems', 'show', 'laptop', '--json', ...data)).out) as AdminSystem).online) {
      assert.ok(Date.now() < deadline, 'closing the stream made the system offline');
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(s.lastSeen !== null && s.lastSeen >= Date.now() + skew - 60_000);
    assert.doesNotMatch((await cli('systems', 'list', ...data)).out, /\bnow\b/);
  } finally {
    await c.dispose();
  }
});
