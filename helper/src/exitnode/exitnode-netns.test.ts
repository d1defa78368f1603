// Real-kernel test: an exit node in a network namespace of its own (needs root), with a LAN
// neighbour namespace that tries to start traffic into the overlay. The module runs in a child
// node process under `ip netns exec`, so that /proc/sys and nft act on that namespace.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15_000,
  });
}

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  for (const tool of ['ip', 'nft']) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `the ${tool} command is missing`;
  }
  return null;
}

// The child imports the module beside this file: .ts under tsx, .js when compiled.
const here = import.meta.url;
const ext = here.endsWith('.ts') ? '.ts' : '.js';
const CHILD = `
const { applyExitNode, recoverExitNode } = await import(process.env.WX_MOD);
const { createLogger } = await import(process.env.WX_LOG);
const o = JSON.parse(process.env.WX_OPTS);
if (process.env.WX_RECOVER) {
  await recoverExitNode(o.stateDir, createLogger(1));
  process.stdout.write(JSON.stringify({ recovered: true }) + '\\n');
  process.exit(0);
}
const ex = await applyExitNode({ ...o, log: createLogger(1) });
const say = (v) => process.stdout.write(JSON.stringify(v) + '\\n');
say({ routes: ex.routes, table: ex.table });
const rl = (await import('node:readline')).createInterface({ input: process.stdin });
for await (const line of rl) {
  if (line === 'counters') say(await ex.counters());
  if (line === 'undo') { await ex.undo(); say({ undone: true }); break; }
}
process.exit(0);
`;

/** ExitChild is the exit node running in a namespace: next() reads its next JSON line. */
interface ExitChild {
  proc: ReturnType<typeof spawn>;
  next(): Promise<Record<string, unknown>>;
  send(line: string): void;
}

function startChild(ns: string, opts: unknown, recover = false): ExitChild {
  const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
  const proc = spawn('ip', ['netns', 'exec', ns, process.execPath, ...execArgv, '--input-type=module', '-e', CHILD], {
    stdio: ['pipe', 'pipe', 'inherit'],
    env: {
      ...process.env,
      WX_MOD: new URL(`./index${ext}`, here).href,
      WX_LOG: new URL(`../../../src-shared/lib/log${ext}`, here).href,
      WX_OPTS: JSON.stringify(opts),
      ...(recover ? { WX_RECOVER: '1' } : {}),
    },
  });
  const lines = createInterface({ input: proc.stdout! })[Symbol.asyncIterator]();
  return {
    proc,
    next: async () => {
      const r = await lines.next();
      assert.ok(!r.done, 'the exit node child exited early (see its stderr above)');
      return JSON.parse(r.value) as Record<string, unknown>;
    },
    send: (line) => proc.stdin!.write(`${line}\n`),
  };
}

test('exit node in a network namespace: nft table, ip_forward, unsolicited drop, undo', async (t) => {
  const why = skipReason();
  if (why !== null) {
    console.log(`skipping the netns exit node test: ${why}`);
    t.skip(why);
    return;
  }
  const id = randomBytes(3).toString('hex');
  const ns = `wexit${id}`;
  const lan = `wexlan${id}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'warren-exit-ns-'));
  const inNs = (...a: string[]): string => sh(['ip', 'netns', 'exec', ns, ...a]);
  let child: ExitChild | null = null;
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', 'netns', 'add', lan]);
    inNs('ip', 'link', 'set', 'lo', 'up');
    // no dummy module here: a veth pair with both ends up stands in for an interface
    inNs('ip', 'link', 'add', 'wtun0', 'type', 'veth', 'peer', 'name', 'wtun0p');
    inNs('ip', 'link', 'set', 'wtun0p', 'up');
    inNs('ip', 'addr', 'add', '100.64.0.1/10', 'dev', 'wtun0');
    inNs('ip', 'link', 'set', 'wtun0', 'up');
    // the exit node's LAN: a veth to the neighbour namespace, plus a second subnet
    sh(['ip', 'link', 'add', `wxa${id}`, 'netns', ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan]);
    inNs('ip', 'addr', 'add', '192.0.2.1/24', 'dev', `wxa${id}`);
    inNs('ip', 'link', 'set', `wxa${id}`, 'up');
    inNs('ip', 'link', 'add', 'lan1', 'type', 'veth', 'peer', 'name', 'lan1p');
    inNs('ip', 'link', 'set', 'lan1p', 'up');
    inNs('ip', 'addr', 'add', '198.51.100.7/24', 'dev', 'lan1');
    inNs('ip', 'link', 'set', 'lan1', 'up');
    sh(['ip', 'netns', 'exec', lan, 'ip', 'link', 'set', 'lo', 'up']);
    sh(['ip', 'netns', 'exec', lan, 'ip', 'addr', 'add', '192.0.2.2/24', 'dev', 'eth0']);
    sh(['ip', 'netns', 'exec', lan, 'ip', 'link', 'set', 'eth0', 'up']);
    sh(['ip', 'netns', 'exec', lan, 'ip', 'route', 'add', '100.64.0.0/10', 'via', '192.0.2.1']);
    assert.equal(inNs('cat', '/proc/sys/net/ipv4/ip_forward').trim(), '0');

    child = startChild(ns, {
      adapter: 'wtun0',
      overlay: { addr: 0x64400000, bits: 10 },
      overlay6: null,
      stateDir,
      routes: [
        { addr: { family: 4, v4: 0xc0000200 }, bits: 24 },
        { addr: { family: 4, v4: 0xc6336400 }, bits: 24 },
      ],
    });
    const next = child.next;

    const up = await next();
    assert.deepEqual(up.routes, [
      { cidr: '192.0.2.0/24', via: `wxa${id}`, snatTo: '192.0.2.1' },
      { cidr: '198.51.100.0/24', via: 'lan1', snatTo: '198.51.100.7' },
    ]);
    const table = String(up.table);
    const listing = inNs('nft', 'list', 'table', 'inet', table);
    assert.match(
      listing,
      new RegExp(
        `ip saddr 100\\.64\\.0\\.0/10 ip daddr 192\\.0\\.2\\.0/24 oifname "wxa${id}" counter packets \\d+ bytes \\d+ snat ip to 192\\.0\\.2\\.1`,
      ),
    );
    assert.match(
      listing,
      /ip daddr 198\.51\.100\.0\/24 oifname "lan1" counter packets \d+ bytes \d+ snat ip to 198\.51\.100\.7/,
    );
    assert.match(
      listing,
      /iifname != "wtun0" ip daddr 100\.64\.0\.0\/10 ct state new counter packets \d+ bytes \d+ drop/,
    );
    assert.equal(inNs('cat', '/proc/sys/net/ipv4/ip_forward').trim(), '1');

    // The LAN neighbour tries to start traffic into the overlay: forwarded, so dropped and counted.
    spawnSync('ip', ['netns', 'exec', lan, 'ping', '-c', '3', '-i', '0.2', '-W', '1', '100.64.0.9'], {
      stdio: 'ignore',
      timeout: 10_000,
    });
    child.send('counters');
    const counters = await next();
    assert.equal(counters.unsolicitedDropped, 3);

    child.send('undo');
    assert.deepEqual(await next(), { undone: true });
    assert.equal(
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', table], { stdio: 'ignore' }).status !== 0,
      true,
      'table gone',
    );
    assert.equal(inNs('nft', 'list', 'ruleset').trim(), '');
    assert.equal(inNs('cat', '/proc/sys/net/ipv4/ip_forward').trim(), '0');
  } finally {
    if (child !== null && child.proc.exitCode === null) child.proc.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', lan], { stdio: 'ignore' });
    rmSync(stateDir, { recursive: true, force: true });
  }
});

// nftCounter reads the packet count of the rule with the given comment in a table of a namespace.
function nftCounter(ns: string, family: string, table: string, comment: string): number {
  const doc = JSON.parse(sh(['ip', 'netns', 'exec', ns, 'nft', '-j', 'list', 'table', family, table])) as {
    nftables: Array<{ rule?: { comment?: string; expr: Array<{ counter?: { packets: number } }> } }>;
  };
  const rule = doc.nftables.find((i) => i.rule?.comment === comment)?.rule;
  assert.ok(rule, `no rule ${comment} in ${table}`);
  return rule.expr.find((e) => e.counter)?.counter?.packets ?? -1;
}

test('exit node in a network namespace provides an IPv6 subnet: NAT66, unsolicited drop, forwarding and accept_ra restored, crash recovery', async (t) => {
  const why = skipReason();
  if (why !== null) {
    t.skip(why);
    return;
  }
  const id = randomBytes(3).toString('hex');
  const ns = `wx6e${id}`; // the exit node
  const client = `wx6c${id}`; // an overlay peer behind the adapter
  const lan = `wx6l${id}`; // a LAN host with no route back to the overlay
  const lanIf = `wx6a${id}`;
  const stateDir = mkdtempSync(join(tmpdir(), 'warren-exit-ns6-'));
  const inNs = (n: string, ...a: string[]): string => sh(['ip', 'netns', 'exec', n, ...a]);
  const sysctl = (path: string): string => inNs(ns, 'cat', `/proc/sys/net/ipv6/${path}`).trim();
  let child: ExitChild | null = null;
  try {
    for (const n of [ns, client, lan]) {
      sh(['ip', 'netns', 'add', n]);
      inNs(n, 'ip', 'link', 'set', 'lo', 'up');
    }
    // The adapter is a veth to the client namespace, so overlay traffic really arrives on it.
    sh(['ip', 'link', 'add', 'wtun0', 'netns', ns, 'type', 'veth', 'peer', 'name', 'c0', 'netns', client]);
    inNs(ns, 'ip', 'addr', 'add', '100.64.0.1/10', 'dev', 'wtun0');
    inNs(ns, 'ip', '-6', 'addr', 'add', 'fd12:3456:789a::1/48', 'dev', 'wtun0', 'nodad');
    inNs(ns, 'ip', 'link', 'set', 'wtun0', 'up');
    inNs(client, 'ip', '-6', 'addr', 'add', 'fd12:3456:789a::2/48', 'dev', 'c0', 'nodad');
    inNs(client, 'ip', 'link', 'set', 'c0', 'up');
    inNs(client, 'ip', '-6', 'route', 'add', 'fd00:77::/64', 'via', 'fd12:3456:789a::1');
    sh(['ip', 'link', 'add', lanIf, 'netns', ns, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', lan]);
    inNs(ns, 'ip', '-6', 'addr', 'add', 'fd00:77::1/64', 'dev', lanIf, 'nodad');
    inNs(ns, 'ip', 'link', 'set', lanIf, 'up');
    inNs(ns, 'ip', '-6', 'route', 'add', 'default', 'via', 'fd00:77::2', 'dev', lanIf);
    inNs(lan, 'ip', '-6', 'addr', 'add', 'fd00:77::2/64', 'dev', 'eth0', 'nodad');
    inNs(lan, 'ip', 'link', 'set', 'eth0', 'up');
    // The LAN host counts what reaches it, by source.
    execFileSync('ip', ['netns', 'exec', lan, 'nft', '-f', '-'], {
      input:
        'table ip6 watch {\n chain in {\n  type filter hook input priority 0;\n' +
        '  icmpv6 type echo-request ip6 saddr fd00:77::1 counter comment "from-exit"\n' +
        '  icmpv6 type echo-request ip6 saddr fd12:3456:789a::/48 counter comment "from-overlay"\n }\n}\n',
    });
    inNs(ns, 'sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${lanIf}/accept_ra`);
    assert.equal(sysctl('conf/all/forwarding'), '0');

    const opts = {
      adapter: 'wtun0',
      overlay: { addr: 0x64400000, bits: 10 },
      overlay6: { addr: { family: 6, w0: 0xfd123456, w1: 0x789a0000, w2: 0, w3: 0 }, bits: 48 },
      stateDir,
      routes: [
        { addr: { family: 6, w0: 0xfd000077, w1: 0, w2: 0, w3: 0 }, bits: 64 },
        { addr: { family: 6, w0: 0, w1: 0, w2: 0, w3: 0 }, bits: 0 },
      ],
    };
    child = startChild(ns, opts);
    const up = await child.next();
    assert.deepEqual(up.routes, [
      { cidr: 'fd00:77::/64', via: lanIf, snatTo: 'fd00:77::1' },
      { cidr: '::/0', via: lanIf, snatTo: 'fd00:77::1' },
    ]);
    const table = String(up.table);
    const listing = inNs(ns, 'nft', 'list', 'table', 'inet', table);
    assert.match(
      listing,
      /ip6 saddr fd12:3456:789a::\/48 ip6 daddr fd00:77::\/64 oifname "\S+" counter .* snat ip6 to fd00:77::1/,
    );
    assert.equal(sysctl('conf/all/forwarding'), '1');
    assert.equal(sysctl(`conf/${lanIf}/accept_ra`), '2');

    // An overlay peer reaches the LAN host, which sees the exit node's address and can answer
    // only because of that: it has no route to the overlay.
    const ping = spawnSync(
      'ip',
      ['netns', 'exec', client, 'ping', '-6', '-c', '2', '-i', '0.2', '-W', '2', 'fd00:77::2'],
      {
        encoding: 'utf8',
        timeout: 15_000,
      },
    );
    assert.equal(ping.status, 0, `ping from the overlay failed: ${ping.stdout}${ping.stderr}`);
    assert.equal(nftCounter(lan, 'ip6', 'watch', 'from-exit'), 2);
    assert.equal(nftCounter(lan, 'ip6', 'watch', 'from-overlay'), 0);

    // The LAN host tries to start traffic into the overlay: dropped and counted.
    inNs(lan, 'ip', '-6', 'route', 'add', 'fd12:3456:789a::/48', 'via', 'fd00:77::1');
    spawnSync('ip', ['netns', 'exec', lan, 'ping', '-6', '-c', '3', '-i', '0.2', '-W', '1', 'fd12:3456:789a::2'], {
      stdio: 'ignore',
      timeout: 10_000,
    });
    child.send('counters');
    assert.deepEqual(await child.next(), { unsolicitedDropped: 3 });

    child.send('undo');
    assert.deepEqual(await child.next(), { undone: true });
    assert.equal(inNs(ns, 'nft', 'list', 'ruleset').trim(), '');
    assert.equal(sysctl('conf/all/forwarding'), '0');
    assert.equal(sysctl(`conf/${lanIf}/accept_ra`), '1');

    // A crash: the helper is killed with everything applied; the next start's recovery undoes it.
    child = startChild(ns, opts);
    await child.next();
    assert.equal(sysctl('conf/all/forwarding'), '1');
    const exited = new Promise((resolve) => child!.proc.once('exit', resolve));
    child.proc.kill('SIGKILL');
    await exited;
    assert.notEqual(inNs(ns, 'nft', 'list', 'ruleset').trim(), '', 'the crash left the table');
    child = startChild(ns, opts, true);
    assert.deepEqual(await child.next(), { recovered: true });
    assert.equal(inNs(ns, 'nft', 'list', 'ruleset').trim(), '');
    assert.equal(sysctl('conf/all/forwarding'), '0');
    assert.equal(sysctl(`conf/${lanIf}/accept_ra`), '1');
  } finally {
    if (child !== null && child.proc.exitCode === null) child.proc.kill('SIGKILL');
    for (const n of [ns, client, lan]) spawnSync('ip', ['netns', 'del', n], { stdio: 'ignore' });
    rmSync(stateDir, { recursive: true, force: true });
  }
});
