import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  formatIpEndpoint,
  fromEndpoint,
  ipEndpointEquals,
  parseIpEndpoint,
  toEndpoint,
  type IpEndpoint,
} from './endpoint.js';
import { formatIp } from './addr.js';
import { parseEndpoint, type Endpoint } from './ipv4.js';

const ep = (s: string): IpEndpoint => {
  const e = parseIpEndpoint(s);
  assert.notEqual(e, null, s);
  return e!;
};

test('parseIpEndpoint reads a.b.c.d:port and [ipv6]:port with ports 1-65535', () => {
  const good: [string, 4 | 6, string, number, string][] = [
    ['192.0.2.2:51820', 4, '192.0.2.2', 51820, '192.0.2.2:51820'],
    ['127.0.0.1:1', 4, '127.0.0.1', 1, '127.0.0.1:1'],
    ['127.0.0.1:65535', 4, '127.0.0.1', 65535, '127.0.0.1:65535'],
    ['[::1]:51820', 6, '::1', 51820, '[::1]:51820'],
    ['[2001:DB8:0:0::1]:443', 6, '2001:db8::1', 443, '[2001:db8::1]:443'],
    ['[::ffff:192.0.2.1]:53', 6, '::ffff:192.0.2.1', 53, '[::ffff:192.0.2.1]:53'],
    [
      '[0000:0000:0000:0000:0000:ffff:255.255.255.255]:65535',
      6,
      '::ffff:255.255.255.255',
      65535,
      '[::ffff:255.255.255.255]:65535',
    ],
  ];
  for (const [s, family, addr, port, text] of good) {
    const e = ep(s);
    assert.deepEqual([e.addr.family, formatIp(e.addr), e.port], [family, addr, port], s);
    assert.equal(formatIpEndpoint(e), text, s);
    assert.ok(ipEndpointEquals(ep(text), e), s);
  }
});

test('parseIpEndpoint refuses bad ports, missing or stray brackets and bare IPv6', () => {
  const bad = [
    '127.0.0.1:0',
    '127.0.0.1:65536',
    '127.0.0.1:99999',
    '127.0.0.1:051820',
    '127.0.0.1:+80',
    '127.0.0.1:-80',
    '127.0.0.1: 80',
    '127.0.0.1:80 ',
    '127.0.0.1:0x50',
    '127.0.0.1:',
    '127.0.0.1',
    '127.0.0.1:80:80',
    ':80',
    '[::1]:0',
    '[::1]:65536',
    '[::1]:08',
    '[::1]:',
    '[::1]',
    '[::1]80',
    '[::1]58080',
    '[::1]/8080',
    '[::1]]8080',
    '[::1]]:80',
    '[[::1]:80',
    '[::1:80',
    '::1]:80',
    '::1:80',
    '2001:db8::1:51820',
    '::ffff:1.2.3.4:80',
    '[1.2.3.4]:80',
    '[fe80::1%eth0]:80',
    '[]:80',
    '[::1] :80',
    'example.com:51820',
    '',
    '[' + 'a'.repeat(1000) + ']:80',
  ];
  for (const s of bad) assert.equal(parseIpEndpoint(s), null, s.slice(0, 40));
  assert.equal(parseIpEndpoint(undefined as unknown as string), null);
});

test('ipEndpointEquals compares family, address and port', () => {
  assert.ok(ipEndpointEquals(ep('[2001:db8::1]:80'), ep('[2001:db8:0::0:1]:80')));
  assert.ok(!ipEndpointEquals(ep('[2001:db8::1]:80'), ep('[2001:db8::1]:81')));
  assert.ok(!ipEndpointEquals(ep('[::ffff:1.2.3.4]:80'), ep('1.2.3.4:80')));
  assert.ok(!ipEndpointEquals(ep('1.2.3.4:80'), ep('1.2.3.5:80')));
});

test('conversions to and from ipv4.ts endpoints', () => {
  const v4 = parseEndpoint('192.0.2.2:51820')!;
  const e = fromEndpoint(v4);
  assert.notEqual(e, null);
  assert.equal(formatIpEndpoint(e!), '192.0.2.2:51820');
  assert.deepEqual(toEndpoint(e!), v4);
  assert.equal(toEndpoint(ep('[::1]:80')), null);
  const bad = [
    { ip: '::1', port: 80 },
    { ip: '1.2.3.4', port: 0 },
    { ip: '1.2.3.4', port: 65536 },
    { ip: '1.2.3.4', port: 1.5 },
    { ip: '01.2.3.4', port: 80 },
    null,
  ];
  for (const b of bad) assert.equal(fromEndpoint(b as unknown as Endpoint), null, JSON.stringify(b));
});
