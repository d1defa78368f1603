import { test } from 'node:test';
import assert from 'node:assert/strict';
import { byFamily, parseDefaultRoutes } from './family.js';

const HEAD4 = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
const DEFAULT4 = 'eth0\t00000000\t010200C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n';
const NET4 = 'eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n';
const Z = '0'.repeat(32);
const DEFAULT6 = `${Z} 00 ${Z} 00 fd000000000000000000000000000001 00000400 00000003 00000000 00000003     eth0\n`;
// The kernel's unreachable default on lo (RTF_REJECT set) is no way out.
const REJECT6 = `${Z} 00 ${Z} 00 ${Z} ffffffff 00000001 00000000 00200200       lo\n`;
const NET6 = `20010db8000000000000000000000000 40 ${Z} 00 ${Z} 00000100 00000001 00000000 00000001     eth0\n`;

test('default routes of each family are read from /proc/net/route and ipv6_route; reject routes and lo do not count', () => {
  assert.deepEqual(parseDefaultRoutes(HEAD4 + NET4 + DEFAULT4, NET6 + DEFAULT6), { v4: true, v6: true });
  assert.deepEqual(parseDefaultRoutes(HEAD4 + NET4, NET6 + REJECT6 + DEFAULT6), { v4: false, v6: true });
  assert.deepEqual(parseDefaultRoutes(HEAD4 + NET4, NET6 + REJECT6), { v4: false, v6: false });
  // A header-only table (the header looks like no route) and garbage.
  assert.deepEqual(parseDefaultRoutes(DEFAULT4, 'x\n\n00 00'), { v4: false, v6: false });
});

test('byFamily puts the preferred family first and keeps the order within each', () => {
  const eps = ['192.0.2.1:1', '[2001:db8::1]:1', '192.0.2.2:1', '[2001:db8::2]:1'];
  assert.deepEqual(byFamily(eps, 6), ['[2001:db8::1]:1', '[2001:db8::2]:1', '192.0.2.1:1', '192.0.2.2:1']);
  assert.deepEqual(byFamily(eps, 4), ['192.0.2.1:1', '192.0.2.2:1', '[2001:db8::1]:1', '[2001:db8::2]:1']);
});
