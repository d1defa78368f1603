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
const { applyExitNode } = await import(process.env.WX_MOD);
const { createLogger } = await import(process.env.WX_LOG);
const o = JSON.parse(process.env.WX_OPTS);
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
  let child: ReturnType<typeof spawn> | null = null;
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

    const execArgv = process.execArgv.filter((a) => !a.startsWith('--test'));
    child = spawn('ip', ['netns', 'exec', ns, process.execPath, ...execArgv, '--input-type=module', '-e', CHILD], {
      stdio: ['pipe', 'pipe', 'inherit'],
      env: {
        ...process.env,
        WX_MOD: new URL(`./index${ext}`, here).href,
        WX_LOG: new URL(`../../../src-shared/lib/log${ext}`, here).href,
        WX_OPTS: JSON.stringify({
          adapter: 'wtun0',
          overlay: { addr: 0x64400000, bits: 10 },
          stateDir,
          routes: [
            { addr: 0xc0000200, bits: 24 },
            { addr: 0xc6336400, bits: 24 },
          ],
        }),
      },
    });
    const lines = createInterface({ input: child.stdout! })[Symbol.asyncIterator]();
    const next = async (): Promise<Record<string, unknown>> => {
      const r = await lines.next();
      assert.ok(!r.done, 'the exit node child exited early (see its stderr above)');
      return JSON.parse(r.value) as Record<string, unknown>;
    };

    const up = await next();
    assert.deepEqual(up.routes, [
      { cidr: '192.0.2.0/24', via: `wxa${id}`, snatTo: '192.0.2.1' },
      { cidr: '198.51.100.0/24', via: 'lan1', snatTo: '198.51.100.7' },
    ]);
    const table = String(up.table);
    const listing = inNs('nft', 'list', 'table', 'ip', table);
    assert.match(
      listing,
      new RegExp(
        `ip saddr 100\\.64\\.0\\.0/10 ip daddr 192\\.0\\.2\\.0/24 oifname "wxa${id}" counter packets \\d+ bytes \\d+ snat to 192\\.0\\.2\\.1`,
      ),
    );
    assert.match(
      listing,
      /ip daddr 198\.51\.100\.0\/24 oifname "lan1" counter packets \d+ bytes \d+ snat to 198\.51\.100\.7/,
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
    child.stdin!.write('counters\n');
    const counters = await next();
    assert.equal(counters.unsolicitedDropped, 3);

    child.stdin!.write('undo\n');
    assert.deepEqual(await next(), { undone: true });
    assert.equal(
      spawnSync('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', table], { stdio: 'ignore' }).status !== 0,
      true,
      'table gone',
    );
    assert.equal(inNs('nft', 'list', 'ruleset').trim(), '');
    assert.equal(inNs('cat', '/proc/sys/net/ipv4/ip_forward').trim(), '0');
  } finally {
    if (child !== null && child.exitCode === null) child.kill('SIGKILL');
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'del', lan], { stdio: 'ignore' });
    rmSync(stateDir, { recursive: true, force: true });
  }
});
