// Which interface addresses a helper reports as candidates: IPv4 as before; global and unique
// local IPv6 but not link-local, loopback, the adapter's, or what the kernel flags temporary,
// deprecated or tentative; bounded, with room kept for IPv6.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { NetworkInterfaceInfo } from 'node:os';
import { IFA_F, localCandidates, parseIfInet6 } from './local-addresses.js';

const v4 = (address: string, internal = false): NetworkInterfaceInfo =>
  ({ address, family: 'IPv4', internal, netmask: '255.255.255.0', mac: '', cidr: null }) as NetworkInterfaceInfo;
const v6 = (address: string, scopeid = 0, internal = false): NetworkInterfaceInfo =>
  ({
    address,
    family: 'IPv6',
    internal,
    scopeid,
    netmask: 'ffff:ffff:ffff:ffff::',
    mac: '',
    cidr: null,
  }) as NetworkInterfaceInfo;

test('global and unique local IPv6 are candidates; link-local, loopback, multicast and the adapter are not', () => {
  const got = localCandidates(
    {
      lo: [v4('127.0.0.1', true), v6('::1', 0, true)],
      eth0: [v4('192.168.1.5'), v6('2001:DB8:0:1::5'), v6('fe80::5', 2), v6('fd00:1::5')],
      wlan0: [v6('fe80::9', 3), v6('ff02::1')],
      warren0: [v4('100.64.0.1'), v6('fd7a:115c:a1e0::1')],
    },
    'warren0',
    null,
    16,
  );
  assert.deepEqual(got, ['192.168.1.5', '2001:db8:0:1::5', 'fd00:1::5']);
});

test('addresses the kernel flags temporary, deprecated, tentative or DAD-failed are left out', () => {
  const proc = [
    '20010db8000000010000000000000005 02 40 00 80     eth0', // permanent
    '20010db8000000010000000000000006 02 40 00 01     eth0', // temporary (RFC 8981)
    '20010db8000000010000000000000007 02 40 00 20     eth0', // deprecated
    '20010db8000000010000000000000008 02 40 00 40     eth0', // tentative
    '20010db8000000010000000000000009 02 40 00 08     eth0', // DAD failed
    'garbage line',
  ].join('\n');
  const flags = parseIfInet6(proc);
  assert.equal(flags.get('2001:db8:0:1::6'), IFA_F.temporary);
  assert.equal(flags.size, 5);
  const eth0 = ['5', '6', '7', '8', '9'].map((h) => v6(`2001:db8:0:1::${h}`));
  assert.deepEqual(localCandidates({ eth0 }, 'warren0', flags, 16), ['2001:db8:0:1::5']);
  // Without the kernel's word (not Linux) every global address counts.
  assert.equal(localCandidates({ eth0 }, 'warren0', null, 16).length, 5);
});

test('the list is bounded, and many IPv4 addresses cannot crowd IPv6 out', () => {
  const many4 = Array.from({ length: 30 }, (_, i) => v4(`10.0.${i}.1`));
  const few6 = Array.from({ length: 3 }, (_, i) => v6(`2001:db8::${i + 1}`));
  const got = localCandidates({ eth0: [...many4, ...few6] }, 'warren0', null, 16);
  assert.equal(got.length, 16);
  assert.deepEqual(got.slice(13), ['2001:db8::1', '2001:db8::2', '2001:db8::3']);
  const many6 = Array.from({ length: 30 }, (_, i) => v6(`2001:db8::${(i + 1).toString(16)}`));
  const mixed = localCandidates({ eth0: [v4('10.0.0.1'), ...many6] }, 'warren0', null, 16);
  assert.deepEqual([mixed.length, mixed[0]], [16, '10.0.0.1']);
});
