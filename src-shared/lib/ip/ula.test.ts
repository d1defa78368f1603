import { test } from 'node:test';
import assert from 'node:assert/strict';
import { addressInPrefix, randomUlaPrefix, ulaPrefix } from './ula.js';
import {
  formatIp,
  formatIpPrefix,
  hostPrefix,
  isUniqueLocal,
  parseIpPrefix,
  prefixContains,
  prefixIsCanonical,
  type IpPrefix,
} from './addr.js';

const pfx = (s: string): IpPrefix => parseIpPrefix(s)!;

test('ulaPrefix puts the 40-bit Global ID after fd (RFC 4193 §3.1) in a /48', () => {
  assert.equal(formatIpPrefix(ulaPrefix(Uint8Array.from([0x01, 0x23, 0x45, 0x67, 0x89]))!), 'fd01:2345:6789::/48');
  assert.equal(formatIpPrefix(ulaPrefix(Uint8Array.from([0xff, 0xff, 0xff, 0xff, 0xff]))!), 'fdff:ffff:ffff::/48');
  assert.equal(formatIpPrefix(ulaPrefix(new Uint8Array(5))!), 'fd00::/48');
  assert.equal(ulaPrefix(new Uint8Array(4)), null);
  assert.equal(ulaPrefix(new Uint8Array(6)), null);
  assert.equal(ulaPrefix([1, 2, 3, 4, 5] as unknown as Uint8Array), null);
});

test('randomUlaPrefix draws all 40 Global ID bits at random and nothing else', () => {
  const fd = pfx('fd00::/8');
  let ones = [0, 0];
  let zeros = [0, 0];
  const seen = new Set<string>();
  for (let i = 0; i < 64; i++) {
    const p = randomUlaPrefix();
    assert.equal(p.bits, 48);
    assert.ok(prefixContains(fd, p.addr), formatIpPrefix(p));
    assert.ok(prefixIsCanonical(p), formatIpPrefix(p));
    assert.ok(p.addr.family === 6 && p.addr.w1 % 0x10000 === 0 && p.addr.w2 === 0 && p.addr.w3 === 0);
    seen.add(formatIpPrefix(p));
    // Global ID bits: the low 24 bits of w0 and the high 16 bits of w1.
    const gid = [p.addr.w0 & 0xffffff, p.addr.w1 >>> 16];
    ones = [ones[0]! | gid[0]!, ones[1]! | gid[1]!];
    zeros = [zeros[0]! | (~gid[0]! & 0xffffff), zeros[1]! | (~gid[1]! & 0xffff)];
  }
  assert.equal(seen.size, 64);
  // Over 64 draws each of the 40 bits has been both 1 and 0 (a fixed bit would fail: 2^-63 by chance).
  assert.deepEqual(ones, [0xffffff, 0xffff]);
  assert.deepEqual(zeros, [0xffffff, 0xffff]);
});

test('addressInPrefix places a host id in the low bits and refuses ids that do not fit', () => {
  const net = pfx('fd12:3456:789a::/48');
  const cases: [IpPrefix, bigint, string | null][] = [
    [net, 1n, 'fd12:3456:789a::1'],
    [net, 0x2a00_0000_0000_0042n, 'fd12:3456:789a:0:2a00::42'],
    [net, 0x1_0000_0000_0000_0000n, 'fd12:3456:789a:1::'],
    [net, (1n << 80n) - 1n, 'fd12:3456:789a:ffff:ffff:ffff:ffff:ffff'],
    [net, 1n << 80n, null],
    [net, -1n, null],
    [pfx('fd12:3456:789a:ffff::7/48'), 2n, 'fd12:3456:789a::2'], // host bits of the prefix are ignored
    [pfx('2001:db8::1/128'), 0n, '2001:db8::1'],
    [pfx('2001:db8::1/128'), 1n, null],
    [pfx('::/0'), (1n << 128n) - 1n, 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff'],
    [pfx('::/0'), 1n << 128n, null],
    [pfx('100.64.0.0/10'), 5n, '100.64.0.5'],
    [pfx('100.64.0.0/10'), (1n << 22n) - 1n, '100.127.255.255'],
    [pfx('100.64.0.0/10'), 1n << 22n, null],
    [pfx('0.0.0.0/0'), 0xffffffffn, '255.255.255.255'],
    [pfx('192.0.2.1/32'), 0n, '192.0.2.1'],
    [pfx('192.0.2.1/32'), 1n, null],
  ];
  for (const [p, id, want] of cases) {
    const a = addressInPrefix(p, id);
    assert.equal(a === null ? null : formatIp(a), want, `${formatIpPrefix(p)} + ${id}`);
  }
  assert.equal(addressInPrefix(net, 1 as unknown as bigint), null);
  assert.equal(addressInPrefix({ addr: net.addr, bits: 129 }, 1n), null);
  assert.equal(addressInPrefix({ addr: net.addr, bits: 4.5 }, 1n), null);
});

test("a system gets a /128 inside its network's random ULA /48", () => {
  const net = randomUlaPrefix();
  const addr = addressInPrefix(net, 0x2a00_0000_0000_0042n);
  assert.notEqual(addr, null);
  assert.ok(prefixContains(net, addr!));
  assert.ok(isUniqueLocal(addr!));
  assert.ok(addr!.family === 6 && addr!.w1 % 0x10000 === 0 && addr!.w2 === 0x2a000000 && addr!.w3 === 0x42);
  const host = hostPrefix(addr!);
  assert.deepEqual([host.addr, host.bits], [addr, 128]);
});
