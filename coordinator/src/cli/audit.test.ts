// `warren-coordinator audit` and the admin token's sources, against a coordinator in this
// process: actions and refusals are read back through the CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import { send } from '../http/client.js';
import type { StoredAudit } from '../store/audit-rows.js';
import { authHeader, generateAgentKeys, SimAgent } from '../testing/agent-sim.js';
import { cli } from './testing.js';
import { ADMIN_TOKEN_ENV, TOKEN_FILE_MAX } from './admin-token.js';
import { startTestCoordinator, type TestCoordinator } from '../testing/testing.js';

async function audit(c: TestCoordinator, ...flags: string[]): Promise<StoredAudit[]> {
  const r = await cli('audit', '--data', c.dataDir, '--json', ...flags);
  assert.equal(r.code, 0, r.err);
  return JSON.parse(r.out) as StoredAudit[];
}

const brief = (e: StoredAudit): string =>
  `${e.actor} ${e.action} ${e.target} ${e.outcome}${e.reason ? `:${e.reason}` : ''}`;

test('audit shows admin actions and refused attempts: key create, policy apply and refusal, bad enrolment keys, bad admin token, bad agent signature', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    const created = await cli('keys', 'create', ...data, '--json', '--uses', '1');
    assert.equal(created.code, 0, created.err);
    const { key, id: keyId } = JSON.parse(created.out) as { key: string; id: string };
    const good = join(c.dataDir, 'good.json');
    writeFileSync(good, JSON.stringify({ Tags: ['dev'], Policies: [] }));
    assert.equal((await cli('policy', 'apply', good, ...data)).code, 0);
    const bad = join(c.dataDir, 'bad.json');
    writeFileSync(bad, '{ "Tags": 7 }');
    assert.equal((await cli('policy', 'apply', bad, ...data)).code, 1);

    const agent = new SimAgent(c.url);
    await agent.enrol(key, 'laptop');
    await assert.rejects(new SimAgent(c.url).enrol(key, 'second'), /key-used-up/);
    await assert.rejects(new SimAgent(c.url).enrol(`wek-${'A'.repeat(43)}`, 'guess'), /key-invalid/);
    const wrong = await cli('systems', 'list', '--url', c.url, '--token', 'not-the-admin-token');
    assert.equal(wrong.code, 1);
    // A request in the agent's name, signed with another machine key.
    const forged = await send(`${c.url}${CONTROL_PATHS.map}`, {
      method: 'GET',
      headers: {
        authorization: authHeader(generateAgentKeys(), agent.systemId, 'GET', CONTROL_PATHS.map, Buffer.alloc(0)),
      },
    });
    assert.equal(forged.status, 401);

    const all = await audit(c);
    assert.deepEqual(all.map(brief), [
      `admin keys.create ${keyId} ok`,
      'admin policy.apply policy ok',
      'admin policy.apply policy refused:policy-invalid',
      `${agent.identity} enrol ${keyId} ok`,
      `anonymous enrol ${keyId} refused:key-used-up`,
      'anonymous enrol - refused:key-invalid',
      'anonymous systems.list - refused:bad-token',
      `anonymous agent.map ${agent.systemId} refused:bad-signature`,
    ]);
    assert.ok(
      all.every((e) => e.source === '127.0.0.1'),
      'every entry has the source address',
    );
    assert.deepEqual(
      (await audit(c, '--refused')).map((e) => e.reason),
      ['policy-invalid', 'key-used-up', 'key-invalid', 'bad-token', 'bad-signature'],
    );
    assert.deepEqual((await audit(c, '--actor', 'admin', '--action', 'policy')).map(brief), [
      'admin policy.apply policy ok',
      'admin policy.apply policy refused:policy-invalid',
    ]);
    assert.deepEqual(
      (await audit(c, '--limit', '2')).map((e) => e.action),
      ['systems.list', 'agent.map'],
    );
    assert.equal((await audit(c, '--since', '1h')).length, all.length);

    // Human output: a header and one line per entry, every column starting at the same place.
    const human = await cli('audit', ...data);
    assert.equal(human.code, 0, human.err);
    const lines = human.out.trimEnd().split('\n');
    assert.equal(lines.length, all.length + 1);
    const at = lines[0]!.indexOf('ACTION');
    assert.ok(at > 0);
    for (const [i, e] of all.entries()) assert.equal(lines[i + 1]!.indexOf(e.action), at, lines[i + 1]);
    assert.match(lines[8]!, /anonymous\s+127\.0\.0\.1\s+agent\.map\s+sys-\S+\s+refused:bad-signature/);
  } finally {
    await c.dispose();
  }
});

test('audit refuses bad filters: exit 2 for flags, 1 for a query the coordinator refuses', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    for (const [argv, want] of [
      [['--since', 'yesterday'], /--since: "yesterday" is not a duration/],
      [['--limit', '0'], /--limit must be a whole number from 1/],
      [['--actor', 'a b'], /--actor must be/],
    ] as const) {
      const r = await cli('audit', ...data, ...argv);
      assert.equal(r.code, 2, r.err);
      assert.match(r.err, want);
    }
    const r = await cli('audit', ...data, '--limit', '99999');
    assert.equal(r.code, 1);
    assert.match(r.err, /bad-request: limit must be a whole number from 1 to 10000/);
  } finally {
    await c.dispose();
  }
});

test('the admin token comes from --token-file, then the environment, then --token (with a warning), then the data dir', async () => {
  const c = await startTestCoordinator();
  const saved = process.env[ADMIN_TOKEN_ENV];
  try {
    const url = ['--url', c.url];
    const goodFile = join(c.dataDir, 'token');
    writeFileSync(goodFile, `\n  ${c.adminToken}\n\n`, { mode: 0o600 });
    const wrongFile = join(c.dataDir, 'wrong-token');
    writeFileSync(wrongFile, 'wrong-token\n', { mode: 0o600 });

    const viaFile = await cli('systems', 'list', ...url, '--token-file', goodFile);
    assert.equal(viaFile.code, 0, viaFile.err);
    assert.equal(viaFile.err, '', 'no warning for a token file');

    const viaArgv = await cli('systems', 'list', ...url, '--token', c.adminToken);
    assert.equal(viaArgv.code, 0, viaArgv.err);
    assert.match(
      viaArgv.err,
      /warning: --token puts the admin token on the command line.*--token-file PATH or WARREN_ADMIN_TOKEN/,
    );

    process.env[ADMIN_TOKEN_ENV] = c.adminToken;
    const viaEnv = await cli('systems', 'list', ...url);
    assert.equal(viaEnv.code, 0, viaEnv.err);
    assert.equal(viaEnv.err, '');
    // The environment beats --token; the token file beats the environment.
    assert.equal((await cli('systems', 'list', ...url, '--token', 'wrong')).code, 0);
    const fileFirst = await cli('systems', 'list', ...url, '--token-file', wrongFile);
    assert.equal(fileFirst.code, 1);
    assert.match(fileFirst.err, /unauthorized/);
    // With --data, the environment beats the data dir's admin.token.
    process.env[ADMIN_TOKEN_ENV] = 'wrong';
    assert.match((await cli('systems', 'list', '--data', c.dataDir)).err, /unauthorized/);
    delete process.env[ADMIN_TOKEN_ENV];
    assert.equal((await cli('systems', 'list', '--data', c.dataDir)).code, 0);
    assert.equal((await cli('systems', 'list', '--data', c.dataDir, '--token-file', goodFile)).code, 0);
    assert.equal((await cli('systems', 'list', ...url)).code, 2, '--url alone names no token');
  } finally {
    if (saved === undefined) delete process.env[ADMIN_TOKEN_ENV];
    else process.env[ADMIN_TOKEN_ENV] = saved;
    await c.dispose();
  }
});

test('a token file others can read, an oversized one or one without a token is refused before anything is sent', async () => {
  const c = await startTestCoordinator();
  try {
    const file = join(c.dataDir, 'token');
    writeFileSync(file, `${c.adminToken}\n`, { mode: 0o600 });
    chmodSync(file, 0o640);
    const open = await cli('systems', 'list', '--url', c.url, '--token-file', file);
    assert.equal(open.code, 1);
    assert.match(open.err, /has permissions 0640, so other users can read or change it; .*chmod 600/);
    chmodSync(file, 0o604);
    assert.match((await cli('systems', 'list', '--url', c.url, '--token-file', file)).err, /permissions 0604/);

    writeFileSync(file, 'x'.repeat(TOKEN_FILE_MAX + 1), { mode: 0o600 });
    chmodSync(file, 0o600);
    assert.match(
      (await cli('systems', 'list', '--url', c.url, '--token-file', file)).err,
      /has 4097 bytes; a token file holds one token/,
    );
    writeFileSync(file, 'two words\n');
    assert.match(
      (await cli('systems', 'list', '--url', c.url, '--token-file', file)).err,
      /does not hold an admin token/,
    );
    assert.match(
      (await cli('systems', 'list', '--url', c.url, '--token-file', join(c.dataDir, 'missing'))).err,
      /cannot read the token file .*ENOENT/,
    );
    // None of these reached the coordinator: nothing was refused there.
    c.services.audit.flush();
    assert.equal(c.services.registry.store.listAudit({ refused: true }).length, 0);
  } finally {
    await c.dispose();
  }
});
