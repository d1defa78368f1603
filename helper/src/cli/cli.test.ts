import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status } from '../../../src-shared/wire/status.js';
import { startApiServer } from '../api/server.js';
import { SAMPLE_STATUS } from '../api/testing.js';
import { loadProfile } from '../config/load.js';
import { formatKey, parseKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import type { DaemonOptions } from '../daemon/index.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { VERSION } from '../version.js';
import { COMMANDS } from './cli.js';
import { runCaptured } from './run-captured.js';
import { resolvePath } from './paths.js';
import { formatStatus } from './status-format.js';

interface Run {
  code: number;
  out: string;
  err: string;
  daemonCalls: DaemonOptions[];
}

async function cli(argv: string[], opts: { stdin?: string; env?: Record<string, string> } = {}): Promise<Run> {
  const daemonCalls: DaemonOptions[] = [];
  const r = await runCaptured(argv, {
    env: opts.env ?? {},
    now: () => NOW,
    readStdin: async (max) => {
      const s = opts.stdin ?? '';
      if (Buffer.byteLength(s) > max) throw new Error(`input is longer than ${max} bytes`);
      return s;
    },
    runDaemon: async (o) => {
      daemonCalls.push(o);
    },
  });
  return { ...r, daemonCalls };
}

const NOW = Date.UTC(2026, 10, 24);
const BETA = 'xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=';
let dir = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
});
after(() => {
  rmSync(dir, { recursive: true, force: true });
});

test('no command is a usage error; --help lists every command', async () => {
  const none = await cli([]);
  assert.equal(none.code, 2);
  assert.match(none.err, /^usage: warren <command>/);
  const help = await cli(['--help']);
  assert.equal(help.code, 0);
  for (const c of COMMANDS) assert.match(help.out, new RegExp(`\\n  ${c.name} +\\S`), c.name);
});

test('an unknown command suggests the closest one and prints the usage', async () => {
  const r = await cli(['stauts']);
  assert.equal(r.code, 2);
  assert.match(r.err, /^warren: unknown command "stauts" \(did you mean "status"\?\)\n\nusage: warren <command>/);
  for (const c of COMMANDS) assert.match(r.err, new RegExp(`\\n  ${c.name} +\\S`), c.name);
});

test('a mistake in a command line prints one line saying what is wrong and where usage is', async () => {
  const cases: [string[], string][] = [
    [['status', '--jsn'], "warren status: Unknown option '--jsn'"],
    [['why'], 'warren why: name the peer (identity, name or overlay address)'],
    [['exit-node', 'use', 'abc'], "warren exit-node: say 'list', or 'use IDENTITY on' or 'use IDENTITY off'"],
    [['exit-node', 'frob'], 'warren exit-node: unknown action "frob"'],
    [['add-peer'], 'warren add-peer: --'],
  ];
  for (const [argv, first] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, 2, argv.join(' '));
    assert.equal(r.out, '');
    const lines = r.err.split('\n');
    assert.equal(lines.length, 3, r.err); // two lines and the final newline
    assert.ok(lines[0]!.startsWith(first), r.err);
    assert.equal(lines[1], `Run 'warren ${argv[0]} --help' for usage.`);
    assert.doesNotMatch(r.err, /usage: /);
  }
});

test('every command has --help and refuses unknown flags with exit 2', async () => {
  for (const c of COMMANDS) {
    const help = await cli([c.name, '--help']);
    assert.equal(help.code, 0, `${c.name} --help`);
    assert.ok(help.out.startsWith(`usage: warren ${c.name}`), help.out);
    const bad = await cli([c.name, '--no-such-flag']);
    assert.equal(bad.code, 2, `${c.name} --no-such-flag`);
    assert.equal(bad.out, '');
    const want = `warren ${c.name}: Unknown option '--no-such-flag'`;
    assert.ok(bad.err.startsWith(want), bad.err);
  }
});

test('enrol refuses missing or malformed flags before it contacts anyone', async () => {
  const missing = await cli(['enrol', '--key', 'abcdefgh12345678', '--profile', '/nonexistent/dir/p.profile']);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--coordinator/);
  const badUrl = await cli([
    'enrol',
    '--coordinator',
    'not a url',
    '--key',
    'abcdefgh12345678',
    '--profile',
    '/tmp/warren-cli-test-none.profile',
  ]);
  assert.equal(badUrl.code, 1);
  assert.match(badUrl.err, /is not a URL/);
  const badKey = await cli([
    'enrol',
    '--coordinator',
    'http://127.0.0.1:9',
    '--key',
    'x y',
    '--profile',
    '/tmp/warren-cli-test-none.profile',
  ]);
  assert.equal(badKey.code, 1);
  assert.match(badKey.err, /does not look like an enrolment key/);
});

test('up and down without a helper say so', async () => {
  for (const name of ['up', 'down']) {
    const r = await cli([name, '--socket', '/tmp/warren-cli-test-no-such.sock']);
    assert.equal(r.code, 1, name);
    assert.match(r.err, /not running|no helper|cannot reach|ENOENT/i, name);
  }
});

test('version', async () => {
  for (const argv of [['version'], ['--version']]) {
    const r = await cli(argv);
    assert.deepEqual([r.code, r.out], [0, `warren ${VERSION}\n`]);
  }
});

test('genkey and pubkey', async () => {
  const g = await cli(['genkey']);
  assert.equal(g.code, 0);
  const priv = parseKey(g.out.trim());
  const p = await cli(['pubkey'], { stdin: g.out });
  assert.deepEqual([p.code, p.out], [0, `${formatKey(publicKeyFromPrivate(priv))}\n`]);
  const known = await cli(['pubkey'], { stdin: '  yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\r\n' });
  assert.equal(known.out, 'HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n');
  const bad: [string, RegExp][] = [
    ['', /no key on stdin/],
    ['hello\n', /stdin is not a private key: it has 5 characters/],
    ['x'.repeat(5000), /cannot read a key from stdin: input is longer than 4096 bytes/],
  ];
  for (const [stdin, msg] of bad) {
    const r = await cli(['pubkey'], { stdin });
    assert.equal(r.code, 1);
    assert.equal(r.out, '');
    assert.match(r.err, msg);
    assert.ok(r.err.startsWith('warren pubkey: '));
  }
});

test('init, add-peer and identity edit a profile safely', async () => {
  const path = join(dir, 'profiles', 'a.profile');
  const init = await cli(['init', '--profile', path, '--address', '100.64.0.1', '--port', '51821']);
  assert.equal(init.code, 0, init.err);
  const p = loadProfile(path);
  assert.equal(p.listenPort, 51821);
  assert.match(
    init.out,
    new RegExp(
      `^Wrote ${path}\\nPublic key: ${formatKey(p.publicKey).replace(/[+/]/g, '\\$&')}\\nIdentity:   ${p.identity}\\n$`,
    ),
  );

  const again = await cli(['init', '--profile', path, '--address', '100.64.0.9']);
  assert.equal(again.code, 1);
  assert.match(again.err, /already exists \(use --force to replace it\)/);
  assert.deepEqual(loadProfile(path).privateKey, p.privateKey);

  const add = await cli([
    'add-peer',
    '--profile',
    path,
    '--public-key',
    BETA,
    '--allowed-ips',
    '100.64.0.2/32, 10.9.0.0/16',
    '--endpoint',
    '192.0.2.2:51820',
    '--keepalive',
    '25',
    '--name',
    'beta',
  ]);
  assert.equal(add.code, 0, add.err);
  const withPeer = loadProfile(path);
  assert.equal(withPeer.peers.length, 1);
  assert.equal(add.out, `Added peer ${withPeer.peers[0]!.identity} (beta) to ${path}\n`);
  assert.deepEqual(Object.keys(JSON.parse(readFileSync(path, 'utf8')).Peers[0]), [
    'Name',
    'PublicKey',
    'Endpoint',
    'AllowedIPs',
    'PersistentKeepalive',
  ]);

  const before = readFileSync(path, 'utf8');
  const badEdits: [string[], number, RegExp][] = [
    [
      ['--public-key', BETA, '--allowed-ips', '100.64.0.3/32'],
      1,
      /Peers\[1\]\.PublicKey: is the same key as Peers\[0\]\.PublicKey/,
    ],
    [
      ['--public-key', 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=', '--allowed-ips', '100.64.0.300/32'],
      1,
      /Peers\[1\]\.AllowedIPs\[0\]: "100\.64\.0\.300\/32" is not an IPv4 CIDR/,
    ],
    [
      ['--public-key', 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=', '--allowed-ips', '100.64.0.3/32,'],
      2,
      /--allowed-ips has an empty entry/,
    ],
    [
      ['--public-key', 'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0='],
      2,
      /--allowed-ips CIDR\[,CIDR\.\.\.\] is required/,
    ],
    [
      [
        '--public-key',
        'TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=',
        '--allowed-ips',
        '100.64.0.3/32',
        '--keepalive',
        'often',
      ],
      2,
      /--keepalive must be a whole number from 0 to 65535/,
    ],
  ];
  for (const [flags, code, msg] of badEdits) {
    const r = await cli(['add-peer', '--profile', path, ...flags]);
    assert.equal(r.code, code, r.err);
    assert.match(r.err, msg);
    assert.equal(readFileSync(path, 'utf8'), before, 'a failed edit leaves the file as it was');
  }

  const own = await cli(['identity', '--profile', path]);
  assert.deepEqual([own.code, own.out], [0, `${p.identity}\n`]);
  const other = await cli(['identity', '--public-key', BETA]);
  assert.deepEqual([other.code, other.out], [0, `${withPeer.peers[0]!.identity}\n`]);

  const forced = await cli(['init', '--profile', path, '--address', '100.64.0.9', '--force']);
  assert.equal(forced.code, 0, forced.err);
  assert.notDeepEqual(loadProfile(path).privateKey, p.privateKey);
});

test('init refuses a bad address and writes nothing', async () => {
  const path = join(dir, 'bad-init.profile');
  const outside = await cli(['init', '--profile', path, '--address', '10.0.0.1']);
  assert.equal(outside.code, 1);
  assert.match(outside.err, /VirtualAddress: 10\.0\.0\.1 is outside VirtualNetwork 100\.64\.0\.0\/10/);
  const missing = await cli(['init', '--profile', path]);
  assert.equal(missing.code, 2);
  assert.match(missing.err, /--address .* is required/);
  assert.equal(existsSync(path), false);
});

test('run: a bad profile is reported, exit 1, and the daemon is never started', async () => {
  const path = join(dir, 'broken.profile');
  writeFileSync(path, '{ "PrivateKey": "abc" }');
  const r = await cli(['run', '--profile', path]);
  assert.equal(r.code, 1);
  assert.equal(r.daemonCalls.length, 0);
  assert.equal(
    r.err,
    `profile ${path}: PrivateKey: has 3 characters (expected 44 characters of standard base64 encoding 32 bytes, as printed by \`warren genkey\`)\n` +
      `profile ${path}: VirtualAddress: is required\n`,
  );
  const missing = await cli(['run', '--profile', join(dir, 'nope.profile')]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, /does not exist; create it with `warren init/);
  const badV = await cli(['run', '--profile', path, '-v', '6']);
  assert.deepEqual([badV.code, badV.daemonCalls.length], [2, 0]);
  assert.match(badV.err, /-v must be a whole number from 0 to 5/);
});

test('run hands the profile, paths and verbosity to the daemon', async () => {
  const path = join(dir, 'run.profile');
  assert.equal((await cli(['init', '--profile', path, '--address', '100.64.0.7'])).code, 0);
  const r = await cli(['run', '--profile', path, '-v', '5', '--state-dir', '/tmp/x-state'], {
    env: { WARREN_SOCKET: '/tmp/env.sock', WARREN_STATE_DIR: '/tmp/env-state' },
  });
  assert.equal(r.code, 0, r.err);
  assert.equal(r.daemonCalls.length, 1);
  const o = r.daemonCalls[0]!;
  assert.deepEqual(
    {
      profilePath: o.profilePath,
      socketPath: o.socketPath,
      stateDir: o.stateDir,
      verbosity: o.verbosity,
      logV: o.log.verbosity,
    },
    { profilePath: path, socketPath: '/tmp/env.sock', stateDir: '/tmp/x-state', verbosity: 5, logV: 5 },
  );
  assert.equal(o.profile.virtualAddress, '100.64.0.7');
  const viaEnv = await cli(['run'], { env: { WARREN_PROFILE: path } });
  assert.equal(viaEnv.code, 0, viaEnv.err);
  assert.equal(viaEnv.daemonCalls[0]!.verbosity, 1);
  assert.equal(viaEnv.daemonCalls[0]!.socketPath, '/run/warren/warren.sock');
});

test('run --metrics-listen: ADDR:PORT reaches the daemon, a bad one is refused before it starts', async () => {
  const path = join(dir, 'metrics.profile');
  assert.equal((await cli(['init', '--profile', path, '--address', '100.64.0.8'])).code, 0);
  const v6 = await cli(['run', '--profile', path, '--metrics-listen', '[::1]:9465']);
  assert.equal(v6.code, 0, v6.err);
  assert.deepEqual(v6.daemonCalls[0]!.metricsListen, { host: '::1', port: 9465 });
  const off = await cli(['run', '--profile', path]);
  assert.equal(off.daemonCalls[0]!.metricsListen, undefined, 'off unless asked for');
  // The profile's Metrics.Listen is the default; the flag wins over it.
  const withMetrics = join(dir, 'metrics-profile.profile');
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  writeFileSync(withMetrics, JSON.stringify({ ...json, Metrics: { Listen: '127.0.0.1:9466' } }), { mode: 0o600 });
  const fromProfile = await cli(['run', '--profile', withMetrics]);
  assert.equal(fromProfile.code, 0, fromProfile.err);
  assert.deepEqual(fromProfile.daemonCalls[0]!.metricsListen, { host: '127.0.0.1', port: 9466 });
  const flagWins = await cli(['run', '--profile', withMetrics, '--metrics-listen', '127.0.0.1:9467']);
  assert.deepEqual(flagWins.daemonCalls[0]!.metricsListen, { host: '127.0.0.1', port: 9467 });
  const badProfile = join(dir, 'metrics-bad.profile');
  writeFileSync(badProfile, JSON.stringify({ ...json, Metrics: { Listen: 'nowhere', Port: 1 } }), { mode: 0o600 });
  const refused = await cli(['run', '--profile', badProfile]);
  assert.deepEqual([refused.code, refused.daemonCalls.length], [1, 0]);
  assert.match(refused.err, /Metrics\.Listen: "nowhere" is not HOST:PORT/);
  assert.match(refused.err, /Metrics\.Port: unknown key \(only Listen\)/);
  for (const bad of ['nowhere', '127.0.0.1:70000', '[zz]:1']) {
    const r = await cli(['run', '--profile', path, '--metrics-listen', bad]);
    assert.deepEqual([r.code, r.daemonCalls.length], [2, 0], bad);
    assert.match(r.err, /^warren run: --metrics-listen /, bad);
  }
});

test('run: a profile others may write is refused with the fix, exit 1, and the daemon is never started', async () => {
  const path = join(dir, 'shared.profile');
  assert.equal((await cli(['init', '--profile', path, '--address', '100.64.0.7'])).code, 0);
  assert.equal(statSync(path).mode & 0o777, 0o600, 'warren init writes mode 0600');
  chmodSync(path, 0o666);
  const uid = process.getuid!();
  const r = await cli(['run', '--profile', path]);
  assert.deepEqual([r.code, r.daemonCalls.length], [1, 0]);
  const fix = uid === 0 ? `chown root:root ${path}; chmod 600 ${path}` : `chmod 600 ${path}`;
  assert.equal(
    r.err,
    `profile ${path}: is writable by its group and other users (owner uid ${uid}, mode 0666); a profile controls ` +
      `what the helper does as root, so only its owner may write it. Fix it with \`${fix}\`\n`,
  );
  // add-peer and identity read the same way, and following the fix makes the profile usable.
  assert.equal((await cli(['identity', '--profile', path])).code, 1);
  chmodSync(path, 0o600);
  const ok = await cli(['run', '--profile', path]);
  assert.deepEqual([ok.code, ok.daemonCalls.length], [0, 1], ok.err);
});

test('paths: flags, then environment, then defaults', () => {
  const cases: [string | undefined, string | undefined, string][] = [
    ['/flag.sock', '/env.sock', '/flag.sock'],
    [undefined, '/env.sock', '/env.sock'],
    [undefined, '', '/run/warren/warren.sock'],
    ['', '/env.sock', '/env.sock'],
    [undefined, undefined, '/run/warren/warren.sock'],
  ];
  for (const [flag, env, want] of cases) {
    const got = resolvePath('socket', { values: { socket: flag }, positionals: [] }, { env: { WARREN_SOCKET: env } });
    assert.equal(got, want, `${flag} ${env}`);
  }
  assert.equal(
    resolvePath('profile', { values: {}, positionals: [] }, { env: {} }),
    '/etc/warren/profiles/Universe.profile',
  );
  assert.equal(resolvePath('stateDir', { values: {}, positionals: [] }, { env: {} }), '/var/lib/warren');
});

test('status talks to the helper over the socket', async () => {
  const socketPath = join(dir, 'api', 'warren.sock');
  const st: Status = { ...SAMPLE_STATUS, version: VERSION, startedAt: NOW };
  const server = await startApiServer({ socketPath, log: createLogger(0, { write: () => true }), getStatus: () => st });
  try {
    const human = await cli(['status', '--socket', socketPath]);
    assert.deepEqual([human.code, human.out], [0, formatStatus(st, NOW)]);
    const json = await cli(['status', '--json'], { env: { WARREN_SOCKET: socketPath } });
    assert.equal(json.code, 0);
    assert.deepEqual(JSON.parse(json.out), st);
  } finally {
    await server.close();
  }
  // No helper, and a state directory that records nothing: nothing of it is left.
  const down = await cli(['status', '--socket', socketPath, '--state-dir', join(dir, 'no-state')]);
  assert.equal(down.code, 1);
  assert.equal(
    down.err,
    `warren: the helper is not running (no socket at ${socketPath}), and nothing of it is left on this machine. ` +
      'Start it with `sudo warren start` (the service) or `sudo warren run`\n',
  );
});

test('run refuses to start while another helper answers on the socket', async () => {
  const path = join(dir, 'second.profile');
  assert.equal((await cli(['init', '--profile', path, '--address', '100.64.0.8'])).code, 0);
  const socketPath = join(dir, 'api2', 'warren.sock');
  const server = await startApiServer({
    socketPath,
    log: createLogger(0, { write: () => true }),
    getStatus: () => {
      throw new Error('unused');
    },
  });
  try {
    const r = await cli(['run', '--profile', path, '--socket', socketPath]);
    assert.deepEqual(
      [r.code, r.daemonCalls.length, r.err],
      [1, 0, `warren run: another helper is running on ${socketPath}\n`],
    );
  } finally {
    await server.close();
  }
});

test('why and reload report a helper that is not running', async () => {
  for (const argv of [
    ['why', 'G982V', '--socket', '/nonexistent/warren.sock'],
    ['reload', '--socket', '/nonexistent/warren.sock'],
  ]) {
    const r = await cli(argv);
    assert.equal(r.code, 1);
    assert.match(r.err, /helper is not running/);
  }
  const r = await cli(['why']);
  assert.equal(r.code, 2);
});
