// Tests of `warren cleanup`: it refuses while a helper answers, reports an undo that failed,
// and, in a network namespace of its own, really removes a stale adapter, an exit node's nft
// table and ip_forward, a split-DNS nameserver line and a stale socket (needs root, ip, nft).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startApiServer } from '../api/server.js';
import { statePath, writeState } from '../daemon/state-file.js';
import { applySplitDns } from '../dns/split/index.js';
import { dnsStatePath, writeDnsState } from '../dns/split/state.js';
import { exitNodeStatePath, writeExitNodeState } from '../exitnode/state.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { runCaptured } from './run-captured.js';

const quiet = createLogger(0, { write: () => true });
const ORIGINAL = '# from DHCP\nnameserver 192.0.2.53\noptions edns0\n';

const cli = (argv: string[]): Promise<{ code: number; out: string; err: string }> => runCaptured(argv);

function rootSkip(): string | null {
  if (process.platform !== 'linux') return 'cleanup is Linux-only';
  if (process.getuid?.() !== 0) return 'cleanup needs root';
  return null;
}

// deadPid is the pid of a process that has exited, as a crashed helper's would be.
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

test('cleanup refuses while a helper answers on the socket, and leaves the state alone', async (t) => {
  const why = rootSkip();
  if (why !== null) {
    console.log(`skipping: ${why}`);
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'warren-cleanup-'));
  const socketPath = join(dir, 'run', 'warren.sock');
  const server = await startApiServer({
    socketPath,
    log: quiet,
    getStatus: () => {
      throw new Error('unused');
    },
  });
  try {
    writeState(dir, { pid: deadPid(), startedAt: 0, adapter: 'wclnnever0', routes: [] });
    const r = await cli(['cleanup', '--state-dir', dir, '--socket', socketPath]);
    assert.equal(r.code, 1);
    assert.match(r.err, /^warren cleanup: another helper is running on .*; stop it first/);
    assert.ok(existsSync(statePath(dir)), 'the state file is left for the running helper');
    assert.ok(existsSync(socketPath), 'the live socket is left alone');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cleanup with nothing recorded says so; an undo that fails is reported and kept', async (t) => {
  const why = rootSkip();
  if (why !== null) {
    console.log(`skipping: ${why}`);
    t.skip(why);
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'warren-cleanup-'));
  try {
    const socketPath = join(dir, 'warren.sock');
    const empty = await cli(['cleanup', '--state-dir', dir, '--socket', socketPath]);
    assert.deepEqual([empty.code, empty.out], [0, `nothing to clean up in ${dir}\n`]);

    // A recorded resolv.conf that cannot be read (a directory now): the undo fails, so the
    // record must stay for the next try.
    const notAFile = join(dir, 'resolv.conf');
    mkdirSync(notAFile);
    writeDnsState(dir, { kind: 'resolv.conf', path: notAFile, address: '100.64.0.1', pid: deadPid() });
    const failed = await cli(['cleanup', '--state-dir', dir, '--socket', socketPath]);
    assert.equal(failed.code, 1);
    assert.match(failed.err, /could not undo everything: .*still recorded in .*: split DNS\. Fix what is reported/);
    assert.ok(existsSync(dnsStatePath(dir)));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function netnsSkip(): string | null {
  const root = rootSkip();
  if (root !== null) return root;
  for (const tool of ['ip', 'nft']) {
    if (spawnSync(tool, ['-V'], { stdio: 'ignore' }).error) return `the ${tool} command is missing`;
  }
  return null;
}

// The CLI is run as its own process inside the namespace: the .ts entry under tsx, the
// compiled one from dist.
const here = dirname(fileURLToPath(import.meta.url));
const compiled = import.meta.url.endsWith('.js');
const repoRoot = join(here, compiled ? '../../../..' : '../../..');
const cliArgv = compiled ? [join(here, 'main.js')] : ['--import', 'tsx', join(here, 'main.ts')];

test('cleanup in a network namespace removes what a crashed helper left', async (t) => {
  const why = netnsSkip();
  if (why !== null) {
    console.log(`skipping the netns cleanup test: ${why}`);
    t.skip(why);
    return;
  }
  const id = randomBytes(3).toString('hex');
  const ns = `wcln${id}`;
  const adapter = `wcln${id}`;
  const table = `warren_exit_t${id}`;
  const dir = mkdtempSync(join(tmpdir(), 'warren-cleanup-ns-'));
  const conf = join(dir, 'resolv.conf');
  const socketPath = join(dir, 'warren.sock');
  const sh = (...a: string[]): string =>
    execFileSync(a[0]!, a.slice(1), { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 15_000 });
  const inNs = (...a: string[]): string => sh('ip', 'netns', 'exec', ns, ...a);
  const ok = (...a: string[]): boolean =>
    spawnSync('ip', ['netns', 'exec', ns, ...a], { stdio: 'ignore', timeout: 15_000 }).status === 0;
  try {
    sh('ip', 'netns', 'add', ns);
    // What the crashed helper had set up, in the namespace: its adapter, its exit node's nft
    // table with ip_forward turned on, its nameserver line, and a socket nobody answers on.
    inNs('ip', 'tuntap', 'add', 'dev', adapter, 'mode', 'tun');
    inNs('nft', 'add', 'table', 'ip', table);
    inNs('sysctl', '-q', '-w', 'net.ipv4.ip_forward=1');
    const pid = deadPid();
    writeState(dir, { pid, startedAt: 0, adapter, routes: [] });
    writeExitNodeState(dir, { pid, table, ipForward: '0' });
    writeFileSync(conf, ORIGINAL);
    await applySplitDns({
      adapter,
      address: '100.64.0.1',
      zone: 'warren.internal',
      stateDir: dir,
      log: quiet,
      resolvConfPath: conf,
      resolvedRunDir: join(dir, 'no-resolved'),
      sameNetnsAsInit: () => true,
    }); // and "crash": no undo
    assert.notEqual(readFileSync(conf, 'utf8'), ORIGINAL);
    spawnSync(process.execPath, [
      '-e',
      `require('net').createServer().listen(${JSON.stringify(socketPath)}, () => process.kill(process.pid, 'SIGKILL'))`,
    ]);
    assert.ok(existsSync(socketPath), 'a stale socket file is left');

    const r = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, ...cliArgv, 'cleanup', '--state-dir', dir, '--socket', socketPath],
      { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
    );
    assert.equal(r.status, 0, `cleanup failed: ${r.stderr}`);
    assert.match(r.stdout, /removed the stale socket/);
    assert.match(r.stdout, /cleaned up after the helper: adapter and routes, split DNS, exit node\n/);

    assert.equal(ok('ip', 'link', 'show', adapter), false, 'the adapter is gone');
    assert.equal(ok('nft', 'list', 'table', 'ip', table), false, 'the nft table is gone');
    assert.equal(inNs('sysctl', '-n', 'net.ipv4.ip_forward').trim(), '0', 'ip_forward is back to what it was');
    assert.equal(readFileSync(conf, 'utf8'), ORIGINAL, 'resolv.conf is restored');
    for (const f of [statePath(dir), dnsStatePath(dir), exitNodeStatePath(dir), socketPath])
      assert.ok(!existsSync(f), `${f} is removed`);

    const again = spawnSync(
      'ip',
      ['netns', 'exec', ns, process.execPath, ...cliArgv, 'cleanup', '--state-dir', dir, '--socket', socketPath],
      { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
    );
    assert.deepEqual([again.status, again.stdout], [0, `nothing to clean up in ${dir}\n`]);
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  }
});

test('cleanup refuses to run without root', async (t) => {
  const setpriv = spawnSync('setpriv', ['--version'], { stdio: 'ignore' });
  if (process.getuid?.() !== 0 || setpriv.error) {
    const why = setpriv.error ? 'setpriv is missing' : 'needs root to switch to another user';
    console.log(`skipping: ${why}`);
    t.skip(why);
    return;
  }
  const r = spawnSync(
    'setpriv',
    [
      '--reuid=65534',
      '--regid=65534',
      '--clear-groups',
      process.execPath,
      ...cliArgv,
      'cleanup',
      '--state-dir',
      '/nonexistent',
    ],
    { cwd: repoRoot, encoding: 'utf8', timeout: 60_000 },
  );
  assert.equal(r.status, 1, r.stderr);
  assert.equal(r.stderr, 'warren cleanup: needs root: run `sudo warren cleanup`\n');
});
