// `policy apply [--strict]`, `policy test` and the tag warnings of `keys create` and
// `systems tag`, against a coordinator in this process.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cli } from './testing.js';
import { enrolledAgent, startTestCoordinator } from '../testing/testing.js';

const ssh = (from: string, to: string, ports: string): object => ({
  Name: `${from} to ${to}`,
  Senders: [from],
  Receivers: [to],
  Acls: [{ Protocol: 'tcp', Ports: ports }],
});

test('policy apply prints warnings as FILE:LINE:COL and exits 0; --strict refuses', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    await enrolledAgent(c, ['laptop'], 'laptop-1');
    const f = join(c.dataDir, 'typo.json');
    writeFileSync(f, JSON.stringify({ Tags: ['laptop', 'lapto'], Policies: [ssh('tag:lapto', 'tag:laptop', '22')] }));
    const strict = await cli('policy', 'apply', f, '--strict', ...data);
    assert.equal(strict.code, 1);
    assert.equal(
      strict.err,
      `${f}:1:85: warning: Policies[0].Senders[0]: tag "lapto" is carried by no system and no usable enrolment key (did you mean "laptop"?)\n` +
        `${f}: refused (--strict: names that match nothing); the previous policy stays in force\n`,
    );
    assert.equal(
      (await cli('policy', 'show', ...data)).out,
      'no policy file applied yet: no system may reach any other\n',
    );
    const applied = await cli('policy', 'apply', f, ...data);
    assert.equal(applied.code, 0, applied.err);
    assert.match(
      applied.err,
      /^.*typo\.json:1:85: warning: Policies\[0\]\.Senders\[0\]: tag "lapto" is carried by no system/,
    );
    assert.match(applied.out, /applied .*typo\.json: 1 policies, 2 tags/);
  } finally {
    await c.dispose();
  }
});

test('policy test prints the readable diff, and the problems of a file apply would refuse', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    const laptop = (await enrolledAgent(c, ['laptop'], 'laptop-1')).identity;
    const server = (await enrolledAgent(c, ['server'], 'server')).identity;
    const tags = ['laptop', 'server'];
    const f = join(c.dataDir, 'p.json');
    writeFileSync(f, JSON.stringify({ Tags: tags, Policies: [ssh('tag:laptop', 'tag:server', '22')] }));
    assert.equal((await cli('policy', 'apply', f, ...data)).code, 0);
    const next = join(c.dataDir, 'next.json');
    writeFileSync(
      next,
      JSON.stringify({
        Tags: tags,
        Policies: [ssh('tag:laptop', 'tag:server', '22,443'), ssh('tag:server', 'tag:laptop', '22')],
      }),
    );
    const r = await cli('policy', 'test', next, ...data);
    assert.equal(r.code, 0, r.err);
    const lines = [
      `~ laptop-1 (${laptop}) → server (${server}): tcp/22 → tcp/22,tcp/443`,
      `+ server (${server}) → laptop-1 (${laptop}): tcp/22`,
    ];
    if (server < laptop) lines.reverse();
    assert.equal(r.out, `${lines.join('\n')}\n2 pairs and 0 route grant(s) change\n`);
    const json = await cli('policy', 'test', next, '--json', ...data);
    assert.equal((JSON.parse(json.out) as { changes: unknown[] }).changes.length, 2);
    const same = await cli('policy', 'test', f, ...data);
    assert.equal(same.out, 'no access changes\n');
    const bad = join(c.dataDir, 'bad.json');
    writeFileSync(bad, '{ "Tags": ["laptop"], "Polices": [] }');
    const refused = await cli('policy', 'test', bad, ...data);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.err,
      `${bad}:1:23: Polices: unknown key (did you mean "Policies"?)\n${bad}: apply would refuse this file\n`,
    );
  } finally {
    await c.dispose();
  }
});

test('keys create and systems tag print a warning for a tag no policy names', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    const a = await enrolledAgent(c, ['laptop'], 'laptop-1');
    const f = join(c.dataDir, 'p.json');
    writeFileSync(f, JSON.stringify({ Tags: ['laptop'], Policies: [ssh('tag:laptop', 'tag:laptop', '22')] }));
    assert.equal((await cli('policy', 'apply', f, ...data)).code, 0);
    const k = await cli('keys', 'create', '--tags', 'lapto', ...data);
    assert.equal(k.code, 0);
    assert.match(k.err, /^warning: tag "lapto" is named by no policy \(did you mean "laptop"\?\)\n/);
    const t = await cli('systems', 'tag', a.identity, '--add', 'lapto', ...data);
    assert.equal(t.code, 0);
    assert.equal(t.err, 'warning: tag "lapto" is named by no policy (did you mean "laptop"?)\n');
    assert.equal(t.out, `${a.identity} (laptop-1) tags: laptop,lapto\n`);
  } finally {
    await c.dispose();
  }
});
