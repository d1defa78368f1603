// warren-relay as a process: the listening line, a relayed exchange through it, a clean stop on
// SIGTERM and SIGINT, and exit code 2 with a clear message for bad flags.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NatKind } from '../../src-shared/wire/nat-wire.js';
import { PACKET_PATH_NODE_FLAGS } from '../../src-shared/lib/node-flags.js';
import { parseRelayArgs, runRelayCli } from './cli.js';
import {
  recvOf,
  registerMessage,
  sendMessage,
  TcpClient,
  testCoordinator,
  testSystem,
  UdpClient,
} from './test-support.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
const root = fromSource ? join(here, '..', '..') : join(here, '..', '..', '..');
const command = fromSource
  ? [process.execPath, '--import', 'tsx', join(root, 'relay', 'src', 'main.ts')]
  : [join(root, 'bin', 'warren-relay')];

function capture(): {
  io: { stdout: { write(s: string): boolean }; stderr: { write(s: string): boolean } };
  out: () => string;
  err: () => string;
} {
  let out = '';
  let err = '';
  return {
    io: { stdout: { write: (s: string) => ((out += s), true) }, stderr: { write: (s: string) => ((err += s), true) } },
    out: () => out,
    err: () => err,
  };
}

const key = testCoordinator().publicKey.toString('base64');
const dir = mkdtempSync(join(tmpdir(), 'warren-relay-cli-'));
after(() => rmSync(dir, { recursive: true, force: true }));

/** keyFile writes a relay key file (0600) and returns its path. */
function keyFile(relayKey: Buffer, name = 'relay.key'): string {
  const f = join(dir, name);
  writeFileSync(f, `${relayKey.toString('base64')}\n`, { mode: 0o600 });
  return f;
}
const kf = keyFile(randomBytes(32));

const usageCases: { name: string; argv: string[]; message: RegExp }[] = [
  { name: 'no key', argv: [], message: /--coordinator-key BASE64 is required/ },
  { name: 'no relay key file', argv: ['--coordinator-key', key], message: /--relay-key-file FILE is required/ },
  { name: 'a key that is not 32 bytes', argv: ['--coordinator-key', 'AAAA'], message: /base64 of a 32-byte/ },
  {
    name: 'a key that is not base64',
    argv: ['--coordinator-key', `${key.slice(0, -2)}!!`],
    message: /base64 of a 32-byte/,
  },
  {
    name: 'a bad udp address',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, '--udp', '1.2.3.4'],
    message: /--udp: "1.2.3.4" is not HOST:PORT/,
  },
  {
    name: 'a port over 65535',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, '--tcp', '0.0.0.0:70000'],
    message: /--tcp: port 70000/,
  },
  {
    name: 'a name with a space',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, '--name', 'eu west'],
    message: /--name must be 1-64 characters/,
  },
  {
    name: 'both off',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, '--udp', 'off', '--tcp', 'off'],
    message: /both off/,
  },
  {
    name: 'a bad -v',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, '-v', '9'],
    message: /-v must be 0 to 5/,
  },
  {
    name: 'an unknown flag',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, '--listen', '0.0.0.0:1'],
    message: /--listen/,
  },
  {
    name: 'a stray argument',
    argv: ['--coordinator-key', key, '--relay-key-file', kf, 'extra'],
    message: /unexpected argument "extra"/,
  },
];

for (const c of usageCases) {
  test(`usage error (exit 2), one line and where the usage is: ${c.name}`, async () => {
    const cap = capture();
    assert.equal(await runRelayCli(c.argv, cap.io), 2);
    assert.match(cap.err(), c.message);
    assert.match(cap.err(), /^warren-relay: [^\n]+\nRun 'warren-relay --help' for usage\.\n$/);
    assert.equal(cap.out(), '');
  });
}

test('--help prints the usage and exits 0; defaults are 0.0.0.0:3478 and 0.0.0.0:443', async () => {
  const cap = capture();
  assert.equal(await runRelayCli(['--help'], cap.io), 0);
  assert.match(cap.out(), /--coordinator-key BASE64/);
  const a = parseRelayArgs(['--coordinator-key', key, '--relay-key-file', kf]);
  assert.equal(a.udp, '0.0.0.0:3478');
  assert.equal(a.tcp, '0.0.0.0:443');
  assert.equal(a.verbosity, 1);
  assert.equal(a.name, 'relay', 'the default name');
  assert.equal(a.relayKeyFile, kf);
  assert.equal(parseRelayArgs(['--coordinator-key', key, '--relay-key-file', kf, '--name', 'eu-1']).name, 'eu-1');
  assert.equal(parseRelayArgs(['--coordinator-key', key, '--relay-key-file', kf, '--tcp', 'off']).tcp, undefined);
});

/** nodeFlagsOf reads a node process's command line and returns the flags before its script. */
function nodeFlagsOf(pid: number): string[] {
  const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  const script = argv.findIndex((a, i) => i > 0 && !a.startsWith('-'));
  return argv.slice(1, script);
}

test('--region names where the relay runs (default "default"); anything outside 1-32 of A-Z a-z 0-9 _ . - is a usage error', () => {
  const base = ['--coordinator-key', key, '--relay-key-file', kf];
  assert.equal(parseRelayArgs(base).region, 'default');
  assert.equal(parseRelayArgs([...base, '--region', 'eu-west.1']).region, 'eu-west.1');
  for (const bad of ['', 'eu west', 'x'.repeat(33), '-eu', 'é'])
    assert.throws(() => parseRelayArgs([...base, `--region=${bad}`]), /--region must be 1-32 characters/, bad);
});

/** startProcess runs warren-relay and resolves with the ports of its listening line. */
async function startProcess(args: string[]): Promise<{
  udp: number | null;
  tcp: number | null;
  /** nodeFlags are the flags the running process's node was given before its script. */
  nodeFlags: string[];
  stop(sig: NodeJS.Signals): Promise<number | null>;
  output(): string;
}> {
  const child = spawn(command[0]!, [...command.slice(1), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (out += s));
  child.stderr.setEncoding('utf8').on('data', (s: string) => (err = (err + s).slice(-64 * 1024)));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + 20_000;
  for (;;) {
    const m = /^warren-relay listening: udp (\S+), tcp (\S+)$/m.exec(out);
    if (m) {
      const port = (s: string): number | null => (s === 'off' ? null : Number(/:(\d+)$/.exec(s)![1]));
      return {
        udp: port(m[1]!),
        tcp: port(m[2]!),
        nodeFlags: nodeFlagsOf(child.pid!),
        stop: async (sig) => {
          child.kill(sig);
          return exited;
        },
        output: () => err,
      };
    }
    if (child.exitCode !== null || Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`warren-relay did not start: ${err}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

test('warren-relay relays between a UDP and a TCP client and stops cleanly on SIGTERM', async () => {
  const coord = testCoordinator();
  const p = await startProcess([
    '--coordinator-key',
    coord.publicKey.toString('base64'),
    '--relay-key-file',
    keyFile(coord.relayKey, 'proc.key'),
    '--udp',
    '127.0.0.1:0',
    '--tcp',
    '127.0.0.1:0',
    '-v',
    '2',
  ]);
  let u: UdpClient | undefined;
  let t: TcpClient | undefined;
  try {
    assert.ok(p.udp !== null && p.udp > 0);
    assert.ok(p.tcp !== null && p.tcp > 0);
    u = await UdpClient.open(p.udp);
    t = await TcpClient.connect(p.tcp);
    const [su, st] = [testSystem(coord, 'proc-udp'), testSystem(coord, 'proc-tcp')];
    await u.request(registerMessage(su), NatKind.relayRegistered);
    await t.request(registerMessage(st), NatKind.relayRegistered);
    const payload = randomBytes(100);
    u.send(sendMessage(st.id, payload));
    assert.deepEqual(recvOf(await t.inbox.next())?.payload, payload);
    t.send(sendMessage(su.id, payload));
    assert.deepEqual(recvOf(await u.inbox.next())?.payload, payload);
  } finally {
    t?.close();
    await u?.close();
    assert.equal(await p.stop('SIGTERM'), 0);
  }
  assert.match(p.output(), /registered over udp from 127\.0\.0\.1:/);
  assert.match(p.output(), /SIGTERM: shutting down/);
  assert.match(p.output(), /2 forwarded/);
});

test('bin/warren-relay runs node with the packet-path flags (no V8 memory reducer)', { skip: fromSource }, async () => {
  const p = await startProcess([
    '--coordinator-key',
    key,
    '--relay-key-file',
    kf,
    '--udp',
    '127.0.0.1:0',
    '--tcp',
    'off',
  ]);
  try {
    for (const f of PACKET_PATH_NODE_FLAGS) assert.ok(p.nodeFlags.includes(f), `${f} in ${p.nodeFlags.join(' ')}`);
  } finally {
    assert.equal(await p.stop('SIGTERM'), 0);
  }
});

test('warren-relay with --tcp off listens on UDP only and stops on SIGINT', async () => {
  const p = await startProcess([
    '--coordinator-key',
    key,
    '--relay-key-file',
    kf,
    '--udp',
    '127.0.0.1:0',
    '--tcp',
    'off',
  ]);
  assert.equal(p.tcp, null);
  assert.ok(p.udp !== null && p.udp > 0);
  assert.equal(await p.stop('SIGINT'), 0);
  assert.match(p.output(), /SIGINT: shutting down/);
});

test('warren-relay exits 1 when its port is taken', async () => {
  const p = await startProcess([
    '--coordinator-key',
    key,
    '--relay-key-file',
    kf,
    '--udp',
    'off',
    '--tcp',
    '127.0.0.1:0',
  ]);
  try {
    const cap = capture();
    assert.equal(
      await runRelayCli(
        ['--coordinator-key', key, '--relay-key-file', kf, '--udp', 'off', '--tcp', `127.0.0.1:${p.tcp}`],
        cap.io,
      ),
      1,
    );
    assert.match(cap.err(), /EADDRINUSE/);
  } finally {
    await p.stop('SIGTERM');
  }
});

test('warren-relay exits 1 with the reason for a missing or malformed key file, and warns of an open one', async () => {
  const run = async (file: string): Promise<{ code: number; err: string }> => {
    const cap = capture();
    const code = await runRelayCli(
      ['--coordinator-key', key, '--relay-key-file', file, '--udp', '127.0.0.1:0', '--tcp', 'off', '-v', '0'],
      cap.io,
    );
    return { code, err: cap.err() };
  };
  const missing = await run(join(dir, 'absent.key'));
  assert.equal(missing.code, 1);
  assert.match(missing.err, /cannot read the relay key file .*absent\.key/);
  const short = join(dir, 'short.key');
  writeFileSync(short, randomBytes(16).toString('base64'), { mode: 0o600 });
  assert.equal((await run(short)).code, 1);
  assert.match((await run(short)).err, /does not hold a relay key \(base64 of 32 bytes\)/);
  const garbage = join(dir, 'garbage.key');
  writeFileSync(garbage, 'not base64 at all!', { mode: 0o600 });
  assert.match((await run(garbage)).err, /does not hold a relay key/);

  // A key file group or others can read still works, with a warning.
  const open = keyFile(randomBytes(32), 'open.key');
  chmodSync(open, 0o644);
  const p = await startProcess([
    '--coordinator-key',
    key,
    '--relay-key-file',
    open,
    '--udp',
    '127.0.0.1:0',
    '--tcp',
    'off',
  ]);
  assert.equal(await p.stop('SIGTERM'), 0);
  assert.match(p.output(), /open\.key is open to group or others; chmod 600 it/);
});

test('a relay started with another relay key drops every registration as bad-mac and answers none', async () => {
  const coord = testCoordinator();
  const p = await startProcess([
    '--coordinator-key',
    coord.publicKey.toString('base64'),
    '--relay-key-file',
    keyFile(coord.keys.relayKey('someone-else'), 'wrong.key'),
    '--udp',
    '127.0.0.1:0',
    '--tcp',
    'off',
  ]);
  const u = await UdpClient.open(p.udp!);
  try {
    u.send(registerMessage(testSystem(coord, 'mismatch')));
    assert.deepEqual(await u.quiet(300), []);
  } finally {
    await u.close();
    assert.equal(await p.stop('SIGTERM'), 0);
  }
  assert.match(p.output(), /dropped \{"bad-mac":1\}/);
});
