import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { leftoverEffects, NO_LEFTOVERS, parseLeftoverRecord, type LeftoverRecord } from '../../wire/leftovers.js';
import { bootTimeMs, helperDownReport, leftoverRecordPath, readLeftoverRecord, type Found } from './leftovers.js';

type Json = Record<string, unknown>;

const good: LeftoverRecord = {
  version: 1,
  pid: 4242,
  stateDir: '/var/lib/warren',
  updatedAt: 1_700_000_000_000,
  leftovers: {
    adapter: 'warren0',
    routes: 2,
    fullTunnel: { killSwitch: true },
    dns: { kind: 'resolv.conf', path: '/etc/resolv.conf', address: '100.64.0.1' },
    exitNode: { table: 'warren_exit_warren0', ipForward: '0' },
  },
};

test('parseLeftoverRecord takes a well-formed record and refuses any field out of bounds', () => {
  assert.deepEqual(parseLeftoverRecord(JSON.parse(JSON.stringify(good))), good);
  const bad: Array<[string, (r: Json) => void]> = [
    ['another version', (r) => (r.version = 2)],
    ['a relative state dir', (r) => (r.stateDir = 'var/lib/warren')],
    ['a pid of 0', (r) => (r.pid = 0)],
    ['an adapter name with a slash', (r) => ((r.leftovers as Json).adapter = '../x')],
    ['an adapter name over 15 bytes', (r) => ((r.leftovers as Json).adapter = 'a'.repeat(16))],
    ['negative routes', (r) => ((r.leftovers as Json).routes = -1)],
    ['a kill switch that is not a boolean', (r) => ((r.leftovers as Json).fullTunnel = { killSwitch: 'yes' })],
    ['a nameserver that is not IPv4', (r) => (((r.leftovers as Json).dns as Json).address = '100.64.0.256')],
    ['an unknown DNS kind', (r) => ((r.leftovers as Json).dns = { kind: 'nsswitch' })],
    ["a table that is not the exit node's", (r) => (((r.leftovers as Json).exitNode as Json).table = 'filter')],
    ['no leftovers', (r) => delete r.leftovers],
    ['an IPv6 forwarding value of 2', (r) => (((r.leftovers as Json).exitNode as Json).ipv6Forward = '2')],
    ['accept_ra on a path, not a name', (r) => (((r.leftovers as Json).exitNode as Json).acceptRa = ['../eth0'])],
    ['accept_ra that is not a list', (r) => (((r.leftovers as Json).exitNode as Json).acceptRa = 'eth0')],
  ];
  for (const [what, edit] of bad) {
    const r = JSON.parse(JSON.stringify(good)) as Json;
    edit(r);
    assert.equal(parseLeftoverRecord(r), null, what);
  }
  assert.equal(parseLeftoverRecord(null), null);
});

test("an exit node's IPv6 leftovers are parsed and worded: forwarding turned on, accept_ra raised", () => {
  const six = JSON.parse(JSON.stringify(good)) as LeftoverRecord;
  six.leftovers.exitNode = {
    table: 'warren_exit_warren0',
    ipForward: '1',
    ipv6Forward: '0',
    acceptRa: ['eth0', 'wlan0'],
  };
  const parsed = parseLeftoverRecord(JSON.parse(JSON.stringify(six)));
  assert.deepEqual(parsed, six);
  const [effect] = leftoverEffects({ ...NO_LEFTOVERS, exitNode: six.leftovers.exitNode }, null);
  assert.equal(
    effect,
    "the exit node's firewall rules (warren_exit_warren0) and IPv6 forwarding left on, " +
      'with router advertisements still accepted on eth0, wlan0 (accept_ra 2)',
    'IPv4 forwarding was already on (found 1), so only IPv6 is named',
  );
  const both = leftoverEffects(
    {
      ...NO_LEFTOVERS,
      exitNode: { table: 'warren_exit_w0', ipForward: '0', ipv6Forward: '0' },
    },
    null,
  );
  assert.deepEqual(both, ["the exit node's firewall rules (warren_exit_w0) and IPv4 and IPv6 forwarding left on"]);
});

test('readLeftoverRecord believes only a regular file of a trusted owner, of bounded size', (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'warren-leftovers-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const sock = join(dir, 'warren.sock');
  assert.equal(leftoverRecordPath(sock), join(dir, 'warren.state.json'));
  assert.equal(readLeftoverRecord(sock), null, 'no record');
  writeFileSync(leftoverRecordPath(sock), JSON.stringify(good));
  assert.deepEqual(readLeftoverRecord(sock), good);
  const me = process.getuid?.() ?? 0;
  assert.equal(readLeftoverRecord(sock, [me + 1]), null, 'a record another user owns is not believed');

  const other = join(dir, 'other.sock');
  symlinkSync(leftoverRecordPath(sock), leftoverRecordPath(other));
  assert.equal(readLeftoverRecord(other), null, 'a symlink is not followed');
  writeFileSync(leftoverRecordPath(sock), `${JSON.stringify(good)}${' '.repeat(70_000)}`);
  assert.equal(readLeftoverRecord(sock), null, 'an oversized record is not read');
  writeFileSync(leftoverRecordPath(sock), '{"version":1,');
  assert.equal(readLeftoverRecord(sock), null, 'a torn record is not read');
});

test('helperDownReport: a killed helper left its kill switch; after a reboot only a resolv.conf line can remain', () => {
  const boot = bootTimeMs();
  assert.ok(boot !== null && boot < Date.now(), 'this Linux machine says when it booted');
  const deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  const found = (at: number, leftovers = good.leftovers): Found => ({
    pid: deadPid,
    leftovers,
    source: 'state-dir',
    where: '/var/lib/warren',
    at,
  });

  const now = helperDownReport(found(Date.now()), 'not running', boot);
  assert.equal(now.stop, 'left-changes');
  assert.equal(now.adapterPresent, false, 'no adapter warren0 here');
  assert.match(now.effects[0] ?? '', /kill switch on/);
  assert.match(
    now.message,
    new RegExp(`^not running, but it left a full tunnel with the kill switch on.*pid ${deadPid} is gone`),
  );
  assert.match(now.message, /`sudo warren cleanup`$/);

  // Written before this boot: the nftables table, rules and sysctls went with it.
  const before = helperDownReport(found(boot - 60_000), 'not running', boot);
  assert.deepEqual(before.leftovers, { ...NO_LEFTOVERS, dns: good.leftovers.dns });
  assert.equal(before.effects.length, 1);
  assert.match(before.effects[0] ?? '', /DNS pointing at Warren's nameserver 100\.64\.0\.1/);
  const kernelOnly = { ...good.leftovers, dns: null };
  assert.equal(helperDownReport(found(boot - 60_000, kernelOnly), 'not running', boot).stop, 'clean');

  assert.equal(helperDownReport(null, 'not running', boot).stop, 'unknown');
  assert.match(helperDownReport(null, 'not running', boot).message, /`sudo warren status`/);
});
