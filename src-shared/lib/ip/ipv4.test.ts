import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cidrContains,
  cidrEquals,
  cidrIsCanonical,
  cidrNetwork,
  formatCidr,
  formatIPv4,
  parseCidr,
  parseEndpoint,
  parseIPv4,
  prefixMask,
} from './ipv4.js';

test('parseIPv4 accepts a.b.c.d and nothing looser', () => {
  const cases: [string, number | null][] = [
    ['0.0.0.0', 0],
    ['255.255.255.255', 0xffffffff],
    ['100.64.0.1', 0x64400001],
    ['10.0.0.255', 0x0a0000ff],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['256.1.1.1', null],
    ['01.2.3.4', null],
    ['1.2.3.04', null],
    ['1.2.3.-4', null],
    ['1.2.3.4 ', null],
    [' 1.2.3.4', null],
    ['1..3.4', null],
    ['0x1.2.3.4', null],
    ['1.2.3.4/32', null],
    ['', null],
    ['١.2.3.4', null],
  ];
  for (const [s, want] of cases) assert.equal(parseIPv4(s), want, s);
});

test('formatIPv4 inverts parseIPv4', () => {
  for (const s of ['0.0.0.0', '255.255.255.255', '100.64.0.1', '192.0.2.200']) {
    assert.equal(formatIPv4(parseIPv4(s)!), s);
  }
});

test('parseCidr keeps the address as written and bounds the length', () => {
  const cases: [string, { addr: number; bits: number } | null][] = [
    ['100.64.0.0/10', { addr: 0x64400000, bits: 10 }],
    ['0.0.0.0/0', { addr: 0, bits: 0 }],
    ['100.64.0.2/32', { addr: 0x64400002, bits: 32 }],
    ['100.64.0.1/10', { addr: 0x64400001, bits: 10 }],
    ['100.64.0.0/33', null],
    ['100.64.0.0/010', null],
    ['100.64.0.0/', null],
    ['100.64.0.0', null],
    ['100.64.0.300/32', null],
    ['100.64.0.0/1 ', null],
  ];
  for (const [s, want] of cases) assert.deepEqual(parseCidr(s), want, s);
});

test('prefix arithmetic', () => {
  assert.equal(prefixMask(0), 0);
  assert.equal(prefixMask(1), 0x80000000);
  assert.equal(prefixMask(10), 0xffc00000);
  assert.equal(prefixMask(32), 0xffffffff);
  const net = parseCidr('100.64.0.0/10')!;
  assert.ok(cidrIsCanonical(net));
  assert.ok(!cidrIsCanonical(parseCidr('100.64.0.1/10')!));
  assert.equal(formatCidr(cidrNetwork(parseCidr('100.127.3.9/10')!)), '100.64.0.0/10');
  const inside: [string, boolean][] = [
    ['100.64.0.0', true],
    ['100.127.255.255', true],
    ['100.128.0.0', false],
    ['100.63.255.255', false],
  ];
  for (const [a, want] of inside) assert.equal(cidrContains(net, parseIPv4(a)!), want, a);
  assert.ok(cidrContains(parseCidr('0.0.0.0/0')!, 0xffffffff));
  assert.ok(cidrContains(parseCidr('255.255.255.255/32')!, 0xffffffff));
  assert.ok(!cidrContains(parseCidr('255.255.255.255/32')!, 0xfffffffe));
  assert.ok(cidrEquals(parseCidr('10.0.0.0/8')!, parseCidr('10.1.2.3/8')!));
  assert.ok(!cidrEquals(parseCidr('10.0.0.0/8')!, parseCidr('10.0.0.0/9')!));
});

test('parseEndpoint accepts a.b.c.d:port with port 1-65535', () => {
  const cases: [string, { ip: string; port: number } | null][] = [
    ['192.0.2.2:51820', { ip: '192.0.2.2', port: 51820 }],
    ['127.0.0.1:1', { ip: '127.0.0.1', port: 1 }],
    ['127.0.0.1:65535', { ip: '127.0.0.1', port: 65535 }],
    ['127.0.0.1:0', null],
    ['127.0.0.1:65536', null],
    ['127.0.0.1:051820', null],
    ['127.0.0.1', null],
    ['example.com:51820', null],
    ['[::1]:51820', null],
    ['127.0.0.1:80:80', null],
  ];
  for (const [s, want] of cases) assert.deepEqual(parseEndpoint(s), want, s);
});
