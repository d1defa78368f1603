// Tests of `warren start` / `warren stop`: argument handling through the real command line,
// and controlService against a stand-in systemctl (a real executable that records its
// arguments and answers like systemctl does), so each error path is exercised for real.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CliError, UsageError } from './command.js';
import { controlService, SERVICE_UNIT, SYSTEMD_RUN_DIR } from './service.js';
import { runCaptured } from './run-captured.js';

const cli = (argv: string[]): Promise<{ code: number; out: string; err: string }> => runCaptured(argv);

let dir = '';
let booted = '';
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-service-'));
  booted = join(dir, 'run-systemd-system');
  mkdirSync(booted);
});
after(() => rmSync(dir, { recursive: true, force: true }));

// fakeSystemctl writes an executable that logs its arguments to `calls` and then behaves as given.
function fakeSystemctl(name: string, body: string): { path: string; calls: string } {
  const path = join(dir, name);
  const calls = join(dir, `${name}.calls`);
  writeFileSync(path, `#!/bin/sh\necho "$@" >> '${calls}'\n${body}\n`);
  chmodSync(path, 0o755);
  return { path, calls };
}

test('start and stop: arguments are checked before anything runs', async () => {
  const cases: Array<[string[], number, RegExp]> = [
    [['start', 'now'], 2, /^warren start: Unexpected argument 'now'.*\nRun 'warren start --help' for usage\.\n$/],
    [['stop', '--force'], 2, /^warren stop: Unknown option '--force'/],
    [['start', '--unit'], 2, /^warren start: Option '--unit <value>' argument missing/],
    [
      ['start', '--unit', '../etc/passwd'],
      2,
      /^warren start: --unit must be a systemd service name like warren-helper\.service/,
    ],
    [['stop', '--unit', 'warren-helper'], 2, /--unit must be a systemd service name/],
  ];
  for (const [argv, code, err] of cases) {
    const r = await cli(argv);
    assert.equal(r.code, code, argv.join(' '));
    assert.match(r.err, err, argv.join(' '));
    assert.equal(r.out, '');
  }
  for (const name of ['start', 'stop']) {
    const help = await cli([name, '--help']);
    assert.equal(help.code, 0);
    assert.ok(help.out.startsWith(`usage: warren ${name} [--unit NAME]\n`), help.out);
    assert.match(help.out, /warren-helper\.service/);
  }
});

test('start without systemd says so and what to do instead', async (t) => {
  if (existsSync(SYSTEMD_RUN_DIR)) {
    const why = 'this machine runs systemd, so `warren start` would really start the service';
    console.log(`skipping: ${why}`);
    t.skip(why);
    return;
  }
  const r = await cli(['start']);
  assert.equal(r.code, 1);
  assert.equal(
    r.err,
    `warren start: systemd is not running on this machine (no ${SYSTEMD_RUN_DIR}), so there is no service ` +
      'to start; run the helper in the foreground with `sudo warren run` instead\n',
  );
});

test('controlService runs systemctl with the action and the unit', async () => {
  for (const action of ['start', 'stop'] as const) {
    const fake = fakeSystemctl(`ok-${action}`, 'exit 0');
    const said = await controlService(action, SERVICE_UNIT, {
      platform: 'linux',
      systemdRunDir: booted,
      systemctl: fake.path,
    });
    assert.match(said, new RegExp(`^${action === 'start' ? 'started' : 'stopped'} warren-helper\\.service`));
    assert.equal(readFileSync(fake.calls, 'utf8'), `${action} ${SERVICE_UNIT}\n`);
  }
});

test('controlService turns each failure into a message that says what to do', async () => {
  const cases: Array<[string, string, RegExp]> = [
    [
      'not-installed',
      'echo "Failed to start warren-helper.service: Unit warren-helper.service not found." >&2; exit 5',
      /failed \(exit 5\): Failed to start warren-helper\.service: Unit warren-helper\.service not found\.; is Warren installed\?/,
    ],
    [
      'denied',
      'echo "Failed to start warren-helper.service: Access denied" >&2; exit 4',
      /failed \(exit 4\): .*Access denied; run it as root: `sudo warren start`/,
    ],
    [
      'failing',
      'echo "Job for warren-helper.service failed because the control process exited with error code." >&2; exit 1',
      /failed \(exit 1\): Job for .*; see `journalctl -u warren-helper\.service`/,
    ],
    ['slow', 'sleep 5', /did not finish in time; see `journalctl -u warren-helper\.service`/],
  ];
  for (const [name, body, want] of cases) {
    const fake = fakeSystemctl(name, body);
    await assert.rejects(
      controlService('start', SERVICE_UNIT, {
        platform: 'linux',
        systemdRunDir: booted,
        systemctl: fake.path,
        timeoutMs: 1000,
      }),
      (e: unknown) => e instanceof CliError && want.test(e.message),
      name,
    );
  }
});

test('controlService refuses where it cannot work, before running anything', async () => {
  const fake = fakeSystemctl('never', 'exit 0');
  const cases: Array<[string, { platform: string; systemdRunDir: string; systemctl: string }, RegExp]> = [
    [
      'macOS',
      { platform: 'darwin', systemdRunDir: booted, systemctl: fake.path },
      /^warren start is not supported on darwin yet .*launchctl/,
    ],
    [
      'Windows',
      { platform: 'win32', systemdRunDir: booted, systemctl: fake.path },
      /^warren start is not supported on win32 yet .*WarrenHelper/,
    ],
    [
      'no systemd',
      { platform: 'linux', systemdRunDir: join(dir, 'absent'), systemctl: fake.path },
      /systemd is not running on this machine/,
    ],
    [
      'no systemctl',
      { platform: 'linux', systemdRunDir: booted, systemctl: join(dir, 'no-such-systemctl') },
      /systemctl was not found on PATH/,
    ],
  ];
  for (const [name, env, want] of cases) {
    await assert.rejects(
      controlService('start', SERVICE_UNIT, env),
      (e: unknown) => e instanceof CliError && want.test(e.message),
      name,
    );
  }
  await assert.rejects(
    controlService('stop', 'x;reboot', { platform: 'linux', systemdRunDir: booted, systemctl: fake.path }),
    UsageError,
  );
  assert.ok(!existsSync(fake.calls), 'systemctl was never run');
});
