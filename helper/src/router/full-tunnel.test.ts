// The full tunnel's nft transaction: it replaces a stale table atomically, copies the tunnel's
// mark onto replies, and the kill switch lets through only the adapter, the tunnel's own
// datagrams, loopback and the LANs, for each family the tunnel carries; the IPv6 guard exists
// only while IPv4 alone is tunnelled. The rules themselves run in e2e/fulltunnel.test.ts and
// e2e/fulltunnel-router.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildFullTunnelNft, fullTunnelTableName, FULL_TUNNEL_MARK, KILL_SWITCH_COMMENT } from './full-tunnel.js';
import { IPV6_GUARD_COMMENT } from './full-tunnel-ipv6.js';
import { parseIpPrefix, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';

/** inOrder asserts that the rules appear in this order in text. */
function inOrder(text: string, rules: string[]): void {
  let at = 0;
  for (const rule of rules) {
    const i = text.indexOf(rule, at);
    assert.ok(i >= 0, `${rule} comes next in:\n${text}`);
    at = i;
  }
}

test('without the kill switch the table restores marks and guards IPv6, and drops nothing', () => {
  const s = buildFullTunnelNft('warren_ft_w0', 'w0', { killSwitch: false, lan: [] });
  assert.match(s, /^add table inet warren_ft_w0\ndelete table inet warren_ft_w0\n/);
  assert.match(s, new RegExp(`meta mark ${FULL_TUNNEL_MARK} ct mark set meta mark`));
  assert.match(s, /meta mark set ct mark/);
  assert.doesNotMatch(s, /killswitch|drop/);
});

test('the kill switch accepts the adapter, the mark, loopback and the LANs, then drops and counts', () => {
  const s = buildFullTunnelNft('warren_ft_w0', 'w0', {
    killSwitch: true,
    lan: [
      { addr: 0xc0000200, bits: 24 },
      { addr: 0x0a000000, bits: 8 },
    ],
  });
  const chain = s.slice(s.indexOf('chain killswitch'));
  const order = [
    'oifname "lo" accept',
    'oifname "w0" accept',
    `meta mark ${FULL_TUNNEL_MARK} accept`,
    'ip daddr { 192.0.2.0/24, 10.0.0.0/8 } accept',
    `counter drop comment "${KILL_SWITCH_COMMENT}"`,
  ];
  let at = 0;
  for (const rule of order) {
    const i = chain.indexOf(rule, at);
    assert.ok(i >= 0, `${rule} comes next in:\n${chain}`);
    at = i;
  }
  assert.doesNotMatch(
    buildFullTunnelNft('t', 'w0', { killSwitch: true, lan: [] }),
    /ip daddr \{/,
    'no empty set when there is no LAN',
  );
});

test('hostile adapter names are refused and table names are sanitised', () => {
  assert.throws(
    () => buildFullTunnelNft('t', 'w0"; flush ruleset', { killSwitch: true, lan: [] }),
    /refusing interface name/,
  );
  assert.equal(fullTunnelTableName('wg-0.x'), 'warren_ft_wg_0_x');
});

test('with IPv4 alone in the tunnel, with or without the kill switch, IPv6 may reach only the adapter, loopback, the link and the LAN, then is rejected', () => {
  const lan6 = [parseIpPrefix('2001:db8:1::/64') as IpPrefix];
  for (const killSwitch of [false, true]) {
    const s = buildFullTunnelNft('warren_ft_w0', 'w0', { killSwitch, lan: [], lan6 });
    const guard = s.slice(s.indexOf('chain ipv6guard'), s.indexOf('\n  }', s.indexOf('chain ipv6guard')));
    inOrder(guard, [
      'hook output priority filter - 1',
      'meta nfproto != ipv6 accept',
      'oifname "lo" accept',
      'oifname "w0" accept',
      `meta mark ${FULL_TUNNEL_MARK} accept`,
      'ip6 daddr { fe80::/10, ff02::/16 } accept',
      'ip6 daddr { 2001:db8:1::/64 } accept',
      `reject with icmpv6 type admin-prohibited comment "${IPV6_GUARD_COMMENT}"`,
    ]);
  }
  assert.doesNotMatch(
    buildFullTunnelNft('t', 'w0', { killSwitch: false, lan: [] }),
    /ip6 daddr \{ [0-9a-f:]+\/\d+ \} accept/,
    'no LAN set without a LAN',
  );
});

test('with ::/0 in the tunnel there is no IPv6 guard, and the kill switch drops both families around it', () => {
  const lan6 = [parseIpPrefix('2001:db8:1::/64') as IpPrefix];
  const s = buildFullTunnelNft('warren_ft_w0', 'w0', {
    killSwitch: true,
    families: { ipv4: true, ipv6: true },
    lan: [{ addr: 0xc0000200, bits: 24 }],
    lan6,
  });
  assert.doesNotMatch(s, /ipv6guard|admin-prohibited/);
  const chain = s.slice(s.indexOf('chain killswitch'));
  assert.doesNotMatch(chain, /nfproto/, 'no family is let past the kill switch');
  inOrder(chain, [
    'oifname "lo" accept',
    'oifname "w0" accept',
    `meta mark ${FULL_TUNNEL_MARK} accept`,
    'ip daddr { 192.0.2.0/24 } accept',
    'ip6 daddr { fe80::/10, ff02::/16 } accept',
    'ip6 daddr { 2001:db8:1::/64 } accept',
    `counter drop comment "${KILL_SWITCH_COMMENT}"`,
  ]);
  const plain = buildFullTunnelNft('warren_ft_w0', 'w0', {
    killSwitch: false,
    families: { ipv4: true, ipv6: true },
    lan: [],
  });
  assert.doesNotMatch(plain, /ipv6guard|killswitch|drop|reject/, 'without the kill switch nothing is refused');
  assert.match(plain, /meta mark set ct mark/, 'the mark is restored on replies of either family (inet table)');
});

test('with ::/0 alone the kill switch lets IPv4 pass untouched and guards only IPv6', () => {
  const s = buildFullTunnelNft('warren_ft_w0', 'w0', {
    killSwitch: true,
    families: { ipv4: false, ipv6: true },
    lan: [{ addr: 0xc0000200, bits: 24 }],
  });
  assert.doesNotMatch(s, /ipv6guard/);
  const chain = s.slice(s.indexOf('chain killswitch'));
  inOrder(chain, [
    'meta nfproto != ipv6 accept',
    'oifname "w0" accept',
    `counter drop comment "${KILL_SWITCH_COMMENT}"`,
  ]);
  assert.doesNotMatch(chain, /ip daddr/, 'no IPv4 exceptions where IPv4 is not filtered');
});
