// The dry run's diff at scale, on an in-process coordinator's registry, and the port rendering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parsePolicyFile, type PolicyFile } from '../policy/policy-file.js';
import { startTestCoordinator } from '../testing/testing.js';
import type { Registry } from '../store/registry.js';
import { DIFF_LIMIT, diffPolicy, formatPorts } from './policy-diff.js';

function file(policy: unknown): PolicyFile {
  const r = parsePolicyFile(JSON.stringify(policy));
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return r.file;
}

function addSystems(registry: Registry, n: number, tags: (i: number) => string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const s = registry.insert(
      {
        id: `sys-perf-${i}`,
        wgKey: `wg-${i}`,
        machineKey: `mk-${i}`,
        hostname: `h${i}`,
        name: `h${i}`,
        address: registry.allocate(),
        tags: tags(i),
        dnsNames: [],
        state: 'active',
        ephemeral: false,
        keyId: null,
        createdAt: 0,
        lastSeen: null,
        observedIp: null,
        listenPort: null,
        reported: [],
      },
      0,
    );
    out.push(s.identity);
  }
  return out;
}

test('formatPorts merges ACLs the way the firewall does', () => {
  const tcp = (from: number, to = from) => ({ protocol: 'tcp' as const, ports: [{ from, to }] });
  assert.deepEqual(formatPorts([]), []);
  assert.deepEqual(formatPorts([{ protocol: 'any', ports: [] }]), ['all']);
  assert.deepEqual(formatPorts([tcp(443), tcp(22), { protocol: 'icmp', ports: [] }, tcp(23)]), [
    'tcp/22-23',
    'tcp/443',
    'icmp',
  ]);
  assert.deepEqual(formatPorts([{ protocol: 'any', ports: [{ from: 53, to: 53 }] }]), [
    'tcp/53',
    'udp/53',
    'icmp',
    'other',
  ]);
  assert.deepEqual(formatPorts([{ protocol: 'udp', ports: [] }, tcp(8000, 8100)]), ['tcp/8000-8100', 'udp/all']);
});

test('the diff of 2,000 systems counts every changed pair, lists the first 1,000 in order, and is fast', async () => {
  const c = await startTestCoordinator();
  try {
    const registry = c.services.registry;
    // 1,000 dev, 900 server, 100 ops; the ops systems are also named one by one (identity
    // selectors give each its own class: the costly shape).
    const ids = addSystems(registry, 2000, (i) => (i < 1000 ? ['dev'] : i < 1900 ? ['server'] : ['ops']));
    const ops = ids.slice(1900);
    const tags = ['dev', 'server', 'ops'];
    const before = { Tags: tags, Policies: [ssh('tag:dev', 'tag:server', '22')] };
    const text = JSON.stringify(before);
    registry.applyPolicy(text, file(before), 0);
    const after = file({
      Tags: tags,
      Policies: [
        ssh('tag:dev', 'tag:server', '22,443'),
        ...ops.map((id) => ({
          Name: `ops ${id}`,
          Senders: [id],
          Receivers: ['tag:server'],
          Acls: [{ Protocol: 'any' }],
        })),
      ],
    });
    const t0 = performance.now();
    const d = diffPolicy(registry, after);
    const ms = performance.now() - t0;
    console.log(`policy diff of 2,000 systems (${d.changedPairs} changed pairs): ${ms.toFixed(0)} ms`);
    assert.equal(d.changedPairs, 1000 * 900 + 100 * 900);
    assert.equal(d.changes.length, DIFF_LIMIT);
    assert.equal(d.truncated, true);
    const sorted = [...d.changes].sort((a, b) => (a.from + a.to < b.from + b.to ? -1 : 1));
    assert.deepEqual(d.changes, sorted, 'listed by sender, then receiver');
    const senders = [...ids.slice(0, 1000), ...ops].sort();
    assert.equal(d.changes[0]!.from, senders[0], 'the listing starts at the smallest sender identity');
    for (const ch of d.changes) {
      const devSender = ids.indexOf(ch.from) < 1000;
      assert.deepEqual(ch.after, devSender ? ['tcp/22', 'tcp/443'] : ['all']);
      assert.deepEqual(ch.before, devSender ? ['tcp/22'] : []);
    }
    assert.ok(ms < 5000, `the diff took ${ms.toFixed(0)} ms`);
  } finally {
    await c.dispose();
  }
});

function ssh(from: string, to: string, ports: string): object {
  return { Name: `${from} to ${to}`, Senders: [from], Receivers: [to], Acls: [{ Protocol: 'tcp', Ports: ports }] };
}

test('the diff stays bounded when every system is its own class and all of them share a policy', async () => {
  const c = await startTestCoordinator();
  try {
    const registry = c.services.registry;
    const ids = addSystems(registry, 2000, () => ['all']);
    const own = ids.map((id) => ({ Name: `own ${id}`, Senders: [id], Receivers: [id], Acls: [{ Protocol: 'icmp' }] }));
    const before = { Tags: ['all'], Policies: own };
    registry.applyPolicy(JSON.stringify(before), file(before), 0);
    const after = file({ Tags: ['all'], Policies: [...own, ssh('tag:all', 'tag:all', '22')] });
    const t0 = performance.now();
    const d = diffPolicy(registry, after);
    const ms = performance.now() - t0;
    console.log(`policy diff of 2,000 systems in 2,000 classes (${d.changedPairs} changed pairs): ${ms.toFixed(0)} ms`);
    assert.equal(d.changedPairs, 2000 * 1999, '4,000,000 class pairs fit the budget, so the count is exact');
    assert.equal(d.changes.length, DIFF_LIMIT);
    assert.deepEqual(d.changes[0]!.after, ['tcp/22']);
    assert.ok(ms < 20_000, `the diff took ${ms.toFixed(0)} ms`);
  } finally {
    await c.dispose();
  }
});
