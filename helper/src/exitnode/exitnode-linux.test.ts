import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import type { CommandRunner } from './index.js';
import { applyLinuxExitNode, recoverLinuxExitNode } from './exitnode-linux.js';
import { buildNftScript, DROP_COMMENT, droppedFromNftJson, exitTableName } from './nft.js';
import { parseDefaultRoute, parseRouteGet, probeAddresses } from './route.js';
import { exitNodeStatePath, readExitNodeState } from './state.js';
import { collectLog, FakeHost, sandbox, TABLE } from './testing.js';

const cidr = (s: string): IpPrefix => parseIpPrefix(s)!;
const OVERLAY = parseCidr('100.64.0.0/10')!;

test('buildNftScript, table-driven', () => {
  const cases: Array<{ name: string; routes: Array<{ route: string; via: string; snatTo: string }>; want: string[] }> =
    [
      {
        name: 'two subnets',
        routes: [
          { route: '192.168.1.0/24', via: 'eth0', snatTo: '192.168.1.10' },
          { route: '10.20.0.0/16', via: 'lan1', snatTo: '10.20.0.5' },
        ],
        want: [
          'ip saddr 100.64.0.0/10 ip daddr 192.168.1.0/24 oifname "eth0" counter snat ip to 192.168.1.10',
          'ip saddr 100.64.0.0/10 ip daddr 10.20.0.0/16 oifname "lan1" counter snat ip to 10.20.0.5',
        ],
      },
      {
        name: 'full tunnel and a host',
        routes: [
          { route: '0.0.0.0/0', via: 'eth0', snatTo: '192.168.1.10' },
          { route: '10.20.0.9/32', via: 'lan1', snatTo: '10.20.0.5' },
        ],
        want: [
          'ip saddr 100.64.0.0/10 oifname "eth0" counter snat ip to 192.168.1.10',
          'ip saddr 100.64.0.0/10 ip daddr 10.20.0.9/32 oifname "lan1" counter snat ip to 10.20.0.5',
        ],
      },
    ];
  for (const c of cases) {
    const text = buildNftScript({
      table: TABLE,
      adapter: 'warren0',
      overlay: OVERLAY,
      overlay6: null,
      routes: c.routes.map((r) => ({ ...r, route: cidr(r.route) })),
    });
    const lines = text.split('\n').map((l) => l.trim());
    assert.deepEqual(
      lines.slice(0, 3),
      [`add table inet ${TABLE}`, `delete table inet ${TABLE}`, `table inet ${TABLE} {`],
      c.name,
    );
    const nat = lines.indexOf('type nat hook postrouting priority srcnat; policy accept;');
    assert.ok(nat > 0, c.name);
    assert.deepEqual(lines.slice(nat + 1, nat + 1 + c.want.length), c.want, c.name);
    assert.ok(
      lines.includes(`iifname != "warren0" ip daddr 100.64.0.0/10 ct state new counter drop comment "${DROP_COMMENT}"`),
      c.name,
    );
  }
  assert.throws(
    () => buildNftScript({ table: TABLE, adapter: 'x"; flush ruleset', overlay: OVERLAY, overlay6: null, routes: [] }),
    /refusing interface name/,
  );
});

test('exitTableName makes an nft identifier', () => {
  assert.equal(exitTableName('warren0'), 'warren_exit_warren0');
  assert.equal(exitTableName('wg-1.a'), 'warren_exit_wg_1_a');
});

test('parseRouteGet and parseDefaultRoute, table-driven', () => {
  const cases: Array<[string, string, { dev: string; prefsrc: string } | null]> = [
    [
      'direct',
      '[{"dst":"192.0.2.2","dev":"eth0","prefsrc":"192.0.2.1","flags":[],"uid":0,"cache":[]}]',
      { dev: 'eth0', prefsrc: '192.0.2.1' },
    ],
    [
      'via gateway',
      '[{"dst":"10.9.0.1","gateway":"192.0.2.254","dev":"eth0","prefsrc":"192.0.2.1","flags":[]}]',
      { dev: 'eth0', prefsrc: '192.0.2.1' },
    ],
    ['our own address', '[{"type":"local","dst":"192.0.2.1","dev":"lo","prefsrc":"192.0.2.1"}]', null],
    ['no source', '[{"dst":"192.0.2.2","dev":"eth0"}]', null],
    ['hostile dev', '[{"dst":"192.0.2.2","dev":"eth0\\" drop","prefsrc":"192.0.2.1"}]', null],
    ['empty', '[]', null],
    ['not json', 'RTNETLINK answers', null],
  ];
  for (const [name, text, want] of cases) assert.deepEqual(parseRouteGet(text), want, name);
  assert.deepEqual(parseDefaultRoute('[{"dst":"default","gateway":"192.0.2.1","dev":"eth0","flags":[]}]'), {
    dev: 'eth0',
    gateway: '192.0.2.1',
    prefsrc: null,
  });
  assert.equal(parseDefaultRoute('[]'), null);
  assert.deepEqual(probeAddresses(cidr('192.168.1.0/24')), ['192.168.1.1', '192.168.1.254']);
  assert.deepEqual(probeAddresses(cidr('10.0.0.7/32')), ['10.0.0.7']);
});

test('droppedFromNftJson sums only the drop rule, tolerating junk', () => {
  const doc = {
    nftables: [
      { metainfo: {} },
      { rule: { chain: 'postrouting', expr: [{ counter: { packets: 100, bytes: 1 } }] } },
      {
        rule: {
          chain: 'forward',
          comment: DROP_COMMENT,
          expr: [{ counter: { packets: 3, bytes: 252 } }, { drop: null }],
        },
      },
      { rule: null },
    ],
  };
  assert.equal(droppedFromNftJson(JSON.stringify(doc)), 3);
  assert.equal(droppedFromNftJson('nope'), 0);
  assert.equal(droppedFromNftJson('{"nftables":[{"rule":{"chain":"forward","comment":"x","expr":"y"}}]}'), 0);
});

test('apply: state is written before any change, then undo restores everything', async () => {
  const s = sandbox('0');
  const host = new FakeHost();
  const { log } = collectLog();
  let stateAtNft: unknown = 'unset';
  const run: CommandRunner = (cmd, args, input) => {
    if (cmd === 'nft' && args[0] === '-f') {
      stateAtNft = readExitNodeState(s.state);
      assert.equal(s.forward(), '0', 'ip_forward changed before the table');
    }
    return host.run(cmd, args, input);
  };
  try {
    const ex = await applyLinuxExitNode({
      adapter: 'warren0',
      overlay: OVERLAY,
      overlay6: null,
      routes: [cidr('192.168.1.0/24'), cidr('10.20.0.0/16'), cidr('0.0.0.0/0')],
      stateDir: s.state,
      log,
      run,
      sysctlDir: s.sysctl,
    });
    assert.deepEqual(stateAtNft, { pid: process.pid, table: TABLE, ipForward: '0', backend: 'nft' });
    assert.deepEqual(ex.routes, [
      { cidr: '192.168.1.0/24', via: 'eth0', snatTo: '192.168.1.10' },
      { cidr: '10.20.0.0/16', via: 'lan1', snatTo: '10.20.0.5' },
      { cidr: '0.0.0.0/0', via: 'eth0', snatTo: '192.168.1.10' },
    ]);
    assert.equal(s.forward(), '1');
    assert.ok(host.table);
    assert.deepEqual(await ex.counters(), { unsolicitedDropped: 7 });
    await ex.undo();
    await ex.undo(); // idempotent
    assert.equal(s.forward(), '0');
    assert.equal(host.table, false);
    assert.ok(!existsSync(exitNodeStatePath(s.state)));
    assert.equal(host.calls.filter((c) => c.args.join(' ') === `delete table inet ${TABLE}`).length, 1);
  } finally {
    s.cleanup();
  }
});

test('apply keeps ip_forward=1 when it was already 1, and warns about a drop forward policy', async () => {
  const s = sandbox('1');
  const host = new FakeHost();
  host.forwardDropChain = true;
  const { log, lines } = collectLog();
  try {
    const ex = await applyLinuxExitNode({
      adapter: 'warren0',
      overlay: OVERLAY,
      overlay6: null,
      routes: [cidr('192.168.1.0/24')],
      stateDir: s.state,
      log,
      run: host.run,
      sysctlDir: s.sysctl,
    });
    assert.ok(
      lines.some((l) => l.includes('WARN') && l.includes('forward policy is drop') && l.includes('filter FORWARD')),
    );
    await ex.undo();
    assert.equal(s.forward(), '1');
  } finally {
    s.cleanup();
  }
});

test('errors: no local path, a route through the adapter, nft refusing; nothing is left', async () => {
  const cases: Array<{ name: string; route: string; nftFails?: string; want: RegExp }> = [
    {
      name: 'no local path',
      route: '203.0.113.0/24',
      want: /exit node route 203\.0\.113\.0\/24: this machine has no local path/,
    },
    {
      name: 'through the adapter',
      route: '100.100.0.0/16',
      want: /100\.100\.0\.0\/16: it leads back through the Warren adapter warren0/,
    },
    {
      name: 'nft refuses',
      route: '10.20.0.0/16',
      nftFails: 'Error: syntax error',
      want: /nft refused the rules: Error: syntax error/,
    },
    { name: 'nft missing', route: '10.20.0.0/16', nftFails: 'spawn nft ENOENT', want: /`nft` command is missing/ },
  ];
  for (const c of cases) {
    const s = sandbox('0');
    const host = new FakeHost();
    host.nftFails = c.nftFails ?? '';
    try {
      await assert.rejects(
        applyLinuxExitNode({
          adapter: 'warren0',
          overlay: OVERLAY,
          overlay6: null,
          routes: [cidr(c.route)],
          stateDir: s.state,
          log: collectLog().log,
          run: host.run,
          sysctlDir: s.sysctl,
        }),
        c.want,
        c.name,
      );
      assert.equal(s.forward(), '0', c.name);
      assert.equal(host.table, false, c.name);
      assert.ok(!existsSync(exitNodeStatePath(s.state)), c.name);
    } finally {
      s.cleanup();
    }
  }
});

test('recover after a simulated crash removes the table and restores ip_forward', async () => {
  const s = sandbox('0');
  const host = new FakeHost();
  const { log, lines } = collectLog();
  try {
    await applyLinuxExitNode({
      adapter: 'warren0',
      overlay: OVERLAY,
      overlay6: null,
      routes: [cidr('192.168.1.0/24')],
      stateDir: s.state,
      log,
      run: host.run,
      sysctlDir: s.sysctl,
    });
    // crash: no undo
    assert.equal(s.forward(), '1');
    await recoverLinuxExitNode(s.state, log, { run: host.run, sysctlDir: s.sysctl });
    assert.equal(s.forward(), '0');
    assert.equal(host.table, false);
    assert.ok(!existsSync(exitNodeStatePath(s.state)));
    assert.ok(lines.some((l) => l.includes('did not stop cleanly')));
    await recoverLinuxExitNode(s.state, log, { run: host.run, sysctlDir: s.sysctl }); // nothing left: no-op
    // a crash, then a new apply: the recorded old value (0) survives, not the crash-left 1
    await applyLinuxExitNode({
      adapter: 'warren0',
      overlay: OVERLAY,
      overlay6: null,
      routes: [cidr('192.168.1.0/24')],
      stateDir: s.state,
      log,
      run: host.run,
      sysctlDir: s.sysctl,
    });
    const again = await applyLinuxExitNode({
      adapter: 'warren0',
      overlay: OVERLAY,
      overlay6: null,
      routes: [cidr('192.168.1.0/24')],
      stateDir: s.state,
      log,
      run: host.run,
      sysctlDir: s.sysctl,
    });
    assert.equal(readExitNodeState(s.state)?.ipForward, '0');
    await again.undo();
    assert.equal(s.forward(), '0');
  } finally {
    s.cleanup();
  }
});

test('a tampered state file is ignored rather than trusted', async () => {
  const s = sandbox('0');
  const host = new FakeHost();
  try {
    mkdirSync(s.state, { recursive: true });
    writeFileSync(exitNodeStatePath(s.state), JSON.stringify({ pid: 1, table: 'filter', ipForward: '0' }));
    assert.equal(readExitNodeState(s.state), null);
    await recoverLinuxExitNode(s.state, collectLog().log, { run: host.run, sysctlDir: s.sysctl });
    assert.equal(host.calls.length, 0);
  } finally {
    s.cleanup();
  }
});
