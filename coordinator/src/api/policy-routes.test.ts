// The policy routes against an in-process coordinator with enrolled (simulated) systems:
// warnings for names that match nothing, strict applies, tag warnings on keys and systems, and
// the dry run's exact changes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ADMIN_PATHS,
  type PolicyInfo,
  type PolicyTestResult,
  type TaggedSystem,
} from '../../../src-shared/wire/admin.js';
import { CONTROL_PATHS } from '../../../src-shared/wire/control.js';
import type { CreatedKey, PolicyIssueWire } from './admin-types.js';
import { enrolledAgent, startTestCoordinator, type TestCoordinator } from '../testing/testing.js';
import type { AuditList } from './audit-route.js';

const put = (c: TestCoordinator, text: string, strict = false) =>
  c.admin<PolicyInfo & { issues?: PolicyIssueWire[] }>(
    'PUT',
    `${CONTROL_PATHS.adminPolicy}${strict ? '?strict=1' : ''}`,
    text,
  );

async function network(c: TestCoordinator): Promise<{ laptop: string; server: string; exit: string }> {
  const laptop = (await enrolledAgent(c, ['laptop'], 'laptop-1')).identity;
  const server = (await enrolledAgent(c, ['server'], 'server')).identity;
  const exit = (await enrolledAgent(c, ['exit'], 'exit')).identity;
  return { laptop, server, exit };
}

test('apply warns, with line, column and a suggestion, about an identity and a tag that match nothing', async () => {
  const c = await startTestCoordinator();
  try {
    const { server } = await network(c);
    // One letter off the server's identity: the typo the admin reported (DG0RN for DG0RM).
    const last = server[4] === 'A' ? 'B' : 'A';
    const typo = `${server.slice(0, 4)}${last}`;
    const text = [
      '{',
      '  "Tags": ["laptop", "lapto", "server", "spare"],',
      '  "Policies": [',
      `    { "Name": "ssh", "Senders": ["tag:lapto"], "Receivers": ["${typo}"], "Acls": [{ "Protocol": "tcp", "Ports": "22" }] }`,
      '  ]',
      '}',
    ].join('\n');
    const r = await put(c, text);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.warnings, [
      {
        line: 2,
        column: 41,
        key: 'Tags[3]',
        kind: 'unknown-tag',
        problem: 'tag "spare" is declared, but no system or usable enrolment key carries it and nothing names it',
      },
      {
        line: 4,
        column: 34,
        key: 'Policies[0].Senders[0]',
        kind: 'unknown-tag',
        problem: 'tag "lapto" is carried by no system and no usable enrolment key (did you mean "laptop"?)',
      },
      {
        line: 4,
        column: 62,
        key: 'Policies[0].Receivers[0]',
        kind: 'unknown-identity',
        problem: `no enrolled system has the identity "${typo}" (did you mean "${server}"?)`,
      },
    ]);
    assert.equal(r.body.counts.policies, 1, 'warnings do not stop the apply');
  } finally {
    await c.dispose();
  }
});

test('apply ?strict=1 refuses a file with warnings, keeps the previous policy and audits the refusal', async () => {
  const c = await startTestCoordinator();
  try {
    await network(c);
    const good = JSON.stringify({ Tags: ['laptop', 'server'], Policies: [ssh('tag:laptop', 'tag:server')] });
    assert.equal((await put(c, good, true)).status, 200, 'a strict apply without warnings passes');
    const version = c.services.registry.version;
    const typo = JSON.stringify({ Tags: ['laptop', 'srever'], Policies: [ssh('tag:laptop', 'tag:srever')] });
    const r = await put(c, typo, true);
    assert.equal(r.status, 422);
    assert.match(JSON.stringify(r.body), /policy-invalid/);
    assert.equal(r.body.issues?.length, 1);
    assert.match(r.body.issues![0]!.problem, /tag "srever" is carried by no system .*did you mean "server"/);
    assert.equal(c.services.registry.version, version, 'the map version did not move');
    assert.equal(c.services.registry.appliedPolicy?.text, good, 'the previous policy stays in force');
    const audit = await c.admin<AuditList>('GET', `${CONTROL_PATHS.adminAudit}?action=policy.apply&refused=1`);
    assert.equal(audit.body.entries.length, 1);
    assert.equal(audit.body.entries[0]!.reason, 'policy-invalid');
    assert.equal((await put(c, typo, false)).status, 200, 'without strict the same file applies');
    assert.equal((await c.admin('PUT', `${CONTROL_PATHS.adminPolicy}?strict=yes`, good)).status, 400);
  } finally {
    await c.dispose();
  }
});

function ssh(from: string, to: string, ports = '22'): object {
  return { Name: `${from} to ${to}`, Senders: [from], Receivers: [to], Acls: [{ Protocol: 'tcp', Ports: ports }] };
}

test('keys create and systems tag warn about tags no policy names, and still do it', async () => {
  const c = await startTestCoordinator();
  try {
    const { laptop } = await network(c);
    await put(c, JSON.stringify({ Tags: ['laptop', 'server'], Policies: [ssh('tag:laptop', 'tag:server')] }));
    const k = await c.admin<CreatedKey>('POST', CONTROL_PATHS.adminKeys, {
      tags: ['lapto', 'server'],
      approval: 'automatic',
      uses: 1,
      expiresInMs: 60_000,
      ephemeral: false,
    });
    assert.equal(k.status, 201);
    assert.deepEqual(k.body.tags, ['lapto', 'server']);
    assert.deepEqual(k.body.warnings, ['tag "lapto" is named by no policy (did you mean "laptop"?)']);
    const t = await c.admin<TaggedSystem>('POST', `${CONTROL_PATHS.adminSystems}/${laptop}/tags`, { add: ['sever'] });
    assert.equal(t.status, 200);
    assert.deepEqual(t.body.tags, ['laptop', 'sever']);
    assert.deepEqual(t.body.warnings, ['tag "sever" is named by no policy (did you mean "server"?)']);
    const fine = await c.admin<TaggedSystem>('POST', `${CONTROL_PATHS.adminSystems}/${laptop}/tags`, {
      set: ['laptop'],
    });
    assert.equal(fine.body.warnings, undefined, 'a tag a policy names gets no warning');
  } finally {
    await c.dispose();
  }
});

test('policy test lists exactly the pairs and route grants that change, and changes nothing', async () => {
  const c = await startTestCoordinator();
  try {
    const { laptop, server, exit } = await network(c);
    const before = {
      Tags: ['laptop', 'server', 'exit'],
      Policies: [ssh('tag:laptop', 'tag:server'), ssh('tag:laptop', 'tag:exit')],
    };
    assert.equal((await put(c, JSON.stringify(before))).status, 200);
    const version = c.services.registry.version;
    const after = {
      Tags: ['laptop', 'server', 'exit'],
      Policies: [
        ssh('tag:laptop', 'tag:server', '22,443'),
        { Name: 'ping', Senders: ['tag:server'], Receivers: ['tag:laptop'], Acls: [{ Protocol: 'icmp' }] },
      ],
      Routes: [{ ExitNode: 'tag:exit', Subnets: ['0.0.0.0/0'], Senders: ['tag:laptop'] }],
    };
    const r = await c.admin<PolicyTestResult>('POST', ADMIN_PATHS.policyTest, JSON.stringify(after));
    assert.equal(r.status, 200);
    const n = { [laptop]: 'laptop-1', [server]: 'server', [exit]: 'exit' };
    const pair = (from: string, to: string, b: string[], a: string[]) => ({
      from,
      fromName: n[from],
      to,
      toName: n[to],
      before: b,
      after: a,
    });
    const want = [
      pair(laptop, exit, ['tcp/22'], []),
      pair(laptop, server, ['tcp/22'], ['tcp/22', 'tcp/443']),
      pair(server, laptop, [], ['icmp']),
    ].sort((x, y) => (x.from + x.to < y.from + y.to ? -1 : 1));
    assert.deepEqual(r.body.changes, want);
    assert.deepEqual(r.body.routes, [
      { sender: laptop, senderName: 'laptop-1', exitNode: exit, subnet: '0.0.0.0/0', change: 'granted' },
    ]);
    assert.equal(r.body.ok, true);
    assert.equal(r.body.truncated, false);
    assert.equal(r.body.changedPairs, 3);
    assert.equal(c.services.registry.version, version, 'a dry run changes no map');
    const audit = await c.admin<AuditList>('GET', `${CONTROL_PATHS.adminAudit}?action=policy.test`);
    assert.equal(audit.body.entries.length, 0, 'a successful dry run is not audited');
  } finally {
    await c.dispose();
  }
});

test('policy test of a file apply would refuse returns the issues and no changes', async () => {
  const c = await startTestCoordinator();
  try {
    await network(c);
    const version = c.services.registry.version;
    const bad =
      '{\n  "Tags": ["laptop"],\n  "Policies": [ { "Name": "p", "Senders": ["tag:ops"], "Receivers": ["tag:laptop"], "Acls": [] } ]\n}\n';
    const r = await c.admin<PolicyTestResult>('POST', ADMIN_PATHS.policyTest, bad);
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, false);
    assert.deepEqual(r.body.changes, []);
    assert.equal(r.body.issues[0]?.line, 3);
    assert.match(r.body.issues[0]!.problem, /tag "ops" is not declared in Tags/);
    assert.equal(c.services.registry.version, version);
    assert.equal(c.services.registry.appliedPolicy, null, 'nothing was applied');
    const refused = await c.admin('POST', ADMIN_PATHS.policyTest, 'x'.repeat(2_000_000));
    assert.equal(refused.status, 413, 'the body is bounded like PUT');
    const audit = await c.admin<AuditList>('GET', `${CONTROL_PATHS.adminAudit}?action=policy.test`);
    assert.equal(audit.body.entries.length, 1, 'a refused dry-run request is audited');
  } finally {
    await c.dispose();
  }
});
