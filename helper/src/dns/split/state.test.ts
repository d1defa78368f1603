// Tests of STATE_DIR/dns.json: what is written (file 0600 in a 0700 directory, indented JSON)
// and that reading refuses anything a crash recovery should not act on.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { clearDnsState, dnsStatePath, readDnsState, writeDnsState } from './state.js';

function withStateDir(fn: (stateDir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-dns-state-'));
  try {
    fn(join(dir, 'state'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('writeDnsState makes a 0600 file in a 0700 directory that readDnsState reads back; clear removes it', () => {
  withStateDir((stateDir) => {
    const state = { kind: 'resolv.conf' as const, path: '/etc/resolv.conf', address: '100.64.0.1', pid: 42 };
    writeDnsState(stateDir, state);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.equal(statSync(dnsStatePath(stateDir)).mode & 0o777, 0o600);
    assert.equal(readFileSync(dnsStatePath(stateDir), 'utf8'), `${JSON.stringify(state, null, 2)}\n`);
    assert.deepEqual(readDnsState(stateDir), state);
    writeDnsState(stateDir, { kind: 'systemd-resolved', adapter: 'warren0', pid: 43 });
    assert.deepEqual(readDnsState(stateDir), { kind: 'systemd-resolved', adapter: 'warren0', pid: 43 });
    clearDnsState(stateDir);
    clearDnsState(stateDir);
    assert.ok(!existsSync(dnsStatePath(stateDir)));
    assert.equal(readDnsState(stateDir), null);
  });
});

test('readDnsState refuses a state file it cannot trust', () => {
  withStateDir((stateDir) => {
    writeDnsState(stateDir, { kind: 'systemd-resolved', adapter: 'warren0', pid: 1 });
    const cases: Array<[string, string]> = [
      [
        'relative resolv.conf path',
        JSON.stringify({ kind: 'resolv.conf', path: 'etc/resolv.conf', address: '100.64.0.1', pid: 1 }),
      ],
      [
        'address that is not IPv4',
        JSON.stringify({ kind: 'resolv.conf', path: '/etc/resolv.conf', address: 'example.com', pid: 1 }),
      ],
      ['adapter name with a slash', JSON.stringify({ kind: 'systemd-resolved', adapter: '../eth0', pid: 1 })],
      ['unknown kind', JSON.stringify({ kind: 'hosts', path: '/etc/hosts', pid: 1 })],
      ['JSON null', 'null'],
      ['cut short', '{"kind": "systemd-res'],
    ];
    for (const [what, text] of cases) {
      writeFileSync(dnsStatePath(stateDir), text);
      assert.equal(readDnsState(stateDir), null, what);
    }
  });
});
