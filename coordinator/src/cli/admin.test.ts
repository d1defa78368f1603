// The admin commands against a coordinator in this process, through --data and --url/--token.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import { SimAgent } from '../testing/agent-sim.js';
import { cli } from './testing.js';
import { startTestCoordinator, type TestCoordinator } from '../testing/testing.js';

test('admin commands: keys, systems and policy through --data and --url/--token', async () => {
  const c: TestCoordinator = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    const created = await cli(
      'keys',
      'create',
      ...data,
      '--tags',
      'dev,laptop',
      '--approval',
      'gated',
      '--uses',
      '2',
      '--expires',
      '1d',
    );
    assert.equal(created.code, 0, created.err);
    const key = created.out.trim();
    assert.match(key, /^wek-/);
    assert.match(created.err, /shown only this once/);
    const listed = await cli('keys', 'list', ...data);
    assert.match(listed.out, /usable\s+dev,laptop\s+gated\s+0\/2/);

    const agent = new SimAgent(c.url);
    await agent.enrol(key, 'my-laptop');
    const sys = await cli('systems', 'list', ...data);
    assert.match(
      sys.out,
      new RegExp(`${agent.identity}\\s+my-laptop\\s+100\\.\\d+\\.\\d+\\.\\d+\\s+fd[0-9a-f:]+\\s+pending`),
    );
    const approved = await cli('systems', 'approve', agent.identity.toLowerCase(), ...data);
    assert.equal(approved.code, 0, approved.err);
    assert.match(approved.out, /is active/);
    assert.equal(
      (await cli('systems', 'tag', agent.systemId, '--add', 'server', '--remove', 'laptop', ...data)).out,
      `${agent.identity} (my-laptop) tags: dev,server\n`,
    );
    assert.equal((await cli('systems', 'rename', agent.identity, 'files', ...data)).code, 0);
    assert.equal(
      (await cli('systems', 'dns', agent.identity, '--set', 'nas,backup', ...data)).out,
      `${agent.identity} (files) DNS names: nas,backup\n`,
    );
    const shown = await cli('systems', 'show', agent.identity, '--json', ...data);
    const s = JSON.parse(shown.out) as { name: string; tags: string[]; dnsNames: string[]; state: string };
    assert.deepEqual([s.name, s.tags, s.dnsNames, s.state], ['files', ['dev', 'server'], ['nas', 'backup'], 'active']);

    // The same through --url and --token.
    const viaUrl = await cli('systems', 'list', '--json', '--url', c.url, '--token', c.adminToken);
    assert.equal(viaUrl.code, 0, `systems list --url failed: ${viaUrl.err}`);
    assert.equal((JSON.parse(viaUrl.out) as unknown[]).length, 1);

    const good = join(c.dataDir, 'good.json');
    writeFileSync(
      good,
      JSON.stringify(
        {
          Tags: ['dev', 'server'],
          Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] }],
        },
        null,
        2,
      ),
    );
    const applied = await cli('policy', 'apply', good, ...data);
    assert.equal(applied.code, 0, applied.err);
    assert.match(applied.out, /applied .*good\.json: 1 policies, 2 tags/);
    const bad = join(c.dataDir, 'bad.json');
    writeFileSync(
      bad,
      '{\n  "Tags": ["dev"],\n  "Policies": [ { "Name": "p", "Senders": ["tag:ops"], "Receivers": ["tag:dev"], "Acls": [] } ]\n}\n',
    );
    const refused = await cli('policy', 'apply', bad, ...data);
    assert.equal(refused.code, 1);
    assert.equal(
      refused.err.split('\n')[0],
      `${bad}:3:44: Policies[0].Senders[0]: tag "ops" is not declared in Tags; add it there or fix the spelling`,
    );
    assert.match(refused.err, /the previous policy stays in force/);
    const show = await cli('policy', 'show', ...data);
    assert.equal(
      show.out.trim(),
      JSON.stringify(
        {
          Tags: ['dev', 'server'],
          Policies: [{ Name: 'p', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [{ Protocol: 'icmp' }] }],
        },
        null,
        2,
      ),
    );

    const keyId = /k[0-9a-f]{12}/.exec(listed.out)![0];
    assert.equal((await cli('keys', 'revoke', keyId, ...data)).out, `key ${keyId} is revoked\n`);
    assert.equal(
      (await cli('systems', 'revoke', agent.identity, ...data)).out,
      `${agent.identity} (files) is revoked\n`,
    );
    // A revoked system can be deleted; then it is not listed any more.
    assert.equal((await cli('systems', 'delete', agent.identity, ...data)).out, `${agent.identity} is deleted\n`);
    assert.doesNotMatch((await cli('systems', 'list', ...data)).out, new RegExp(agent.identity));
  } finally {
    await c.dispose();
  }
});

test('admin commands: exit 2 for usage mistakes, 1 for refusals and unreachable coordinators', async () => {
  const c = await startTestCoordinator();
  try {
    const data = ['--data', c.dataDir];
    const cases: [string[], number, RegExp][] = [
      [['keys', 'list'], 2, /say which coordinator: --data DIR .* or --url URL --token-file PATH/],
      [['keys', 'create', ...data, '--uses', 'many'], 2, /--uses/],
      [['keys', 'create', ...data, '--expires', '3w'], 2, /--expires: "3w" is not a duration/],
      [['keys', 'frobnicate', ...data], 2, /unknown keys subcommand/],
      [['systems', 'tag', 'AAAAA', ...data], 2, /needs --set, --add or --remove/],
      [['systems', 'list', ...data, '--bogus'], 2, /bogus/],
      [['nonsense'], 2, /unknown command/],
      [
        ['systems', 'approve', 'ZZZZZ', ...data],
        1,
        /not-found: no system has the id, identity or name "ZZZZZ"; see warren-coordinator systems list/,
      ],
      [['systems', 'list', '--url', c.url, '--token', 'wrong-token-here'], 1, /unauthorized/],
      [['systems', 'list', '--url', 'http://127.0.0.1:1', '--token', 'x'], 1, /cannot reach the coordinator/],
      [['policy', 'apply', join(c.dataDir, 'missing.json'), ...data], 1, /cannot read/],
      [['keys', 'list', '--data', join(c.dataDir, 'nowhere')], 1, /serve\.json is missing/],
    ];
    for (const [argv, code, want] of cases) {
      const r = await cli(...argv);
      assert.equal(r.code, code, `${argv.join(' ')}: ${r.err}`);
      assert.match(r.err, want, argv.join(' '));
    }
    const help = await cli('--help');
    assert.equal(help.code, 0);
    assert.match(help.out, /policy apply FILE/);
    // A mistake is one line and a pointer to --help; an unknown command gets the whole usage.
    const mistake = await cli('keys', 'create', ...data, '--uses', 'many');
    assert.equal(mistake.err.split('\n').length, 3, mistake.err);
    assert.match(mistake.err, /\nRun 'warren-coordinator keys --help' for usage\.\n$/);
    const unknown = await cli('nonsense');
    assert.match(unknown.err, /^warren-coordinator: unknown command "nonsense"\n\nusage: /);
  } finally {
    await c.dispose();
  }
});

test('key prints the public key helpers pin and its fingerprint, from the data dir, and never makes a key', async () => {
  const c = await startTestCoordinator();
  try {
    const fingerprint = keyFingerprint(Buffer.from(c.publicKey, 'base64'));
    const plain = await cli('key', '--data', c.dataDir);
    assert.equal(plain.code, 0, plain.err);
    assert.equal(plain.out, `public key:  ${c.publicKey}\nfingerprint: ${fingerprint}\n`);
    assert.match(plain.err, new RegExp(`--coordinator-key ${c.publicKey.replace(/[+/]/g, '\\$&')}`));
    const json = await cli('key', '--data', c.dataDir, '--json');
    assert.deepEqual(JSON.parse(json.out), { publicKey: c.publicKey, fingerprint });
    // The running coordinator hands out the same key in its start line and serve.json.
    assert.ok(
      c.logLines.some((l) => l.includes(`coordinator key ${c.publicKey} (fingerprint ${fingerprint})`)),
      'the start line carries the key and fingerprint',
    );
    const served = JSON.parse(readFileSync(join(c.dataDir, 'serve.json'), 'utf8')) as Record<string, unknown>;
    assert.equal(served.publicKey, c.publicKey);
    assert.equal(served.fingerprint, fingerprint);

    assert.equal((await cli('key')).code, 2, 'without --data it says where the key is read from');
    const nowhere = join(c.dataDir, 'nowhere');
    const missing = await cli('key', '--data', nowhere);
    assert.equal(missing.code, 1);
    assert.match(missing.err, /signing\.key does not exist: is this the coordinator's data dir\?/);
    assert.equal(existsSync(nowhere), false, 'a mistyped data dir gets no new key');
  } finally {
    await c.dispose();
  }
});
