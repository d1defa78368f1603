// The iptables backend's transaction and counter parsing; the rules run in
// e2e/exitnode-iptables.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import {
  buildIptablesRestore,
  droppedFromIptables,
  iptablesChainBase,
  IPTABLES_DROP_COMMENT,
  IPV6_NEEDS_NFT,
} from './iptables.js';

const overlay = { addr: 0x64400000, bits: 10 };

test('the restore script creates two chains of ours and jumps to them, nothing else', () => {
  const s = buildIptablesRestore('WRN-w0', 'w0', overlay, [
    { route: parseIpPrefix('198.51.100.0/24')!, via: 'eth1', snatTo: '198.51.100.1' },
    { route: parseIpPrefix('0.0.0.0/0')!, via: 'eth0', snatTo: '203.0.113.1' },
  ]);
  const lines = s.trim().split('\n');
  assert.deepEqual(
    lines.filter((l) => l.startsWith(':')),
    [':WRN-w0-NAT - [0:0]', ':WRN-w0-FWD - [0:0]'],
  );
  assert.ok(lines.includes('-A POSTROUTING -j WRN-w0-NAT'));
  assert.ok(lines.includes('-I FORWARD 1 -j WRN-w0-FWD'));
  assert.ok(
    lines.includes('-A WRN-w0-NAT -s 100.64.0.0/10 -d 198.51.100.0/24 -o eth1 -j SNAT --to-source 198.51.100.1'),
  );
  assert.ok(
    lines.includes('-A WRN-w0-NAT -s 100.64.0.0/10 -o eth0 -j SNAT --to-source 203.0.113.1'),
    'the full tunnel has no -d',
  );
  assert.ok(
    lines.some(
      (l) => l.startsWith('-A WRN-w0-FWD ! -i w0 -d 100.64.0.0/10 -m conntrack --ctstate NEW') && l.endsWith('-j DROP'),
    ),
  );
  assert.equal(
    lines.filter((l) => /^-[AI] /.test(l) && !/WRN-w0/.test(l)).length,
    0,
    'every rule is ours or jumps to ours',
  );
});

test('hostile names are refused; chain names are sanitised and short enough for iptables', () => {
  assert.throws(() => buildIptablesRestore('WRN-w0', 'w0 -j ACCEPT', overlay, []), /refusing interface name/);
  assert.throws(() => buildIptablesRestore('FORWARD', 'w0', overlay, []), /refusing chain name/);
  const base = iptablesChainBase('a-very-long-adapter-name');
  assert.ok(`${base}-FWD`.length <= 28, base);
});

test('the drop counter is read from the commented rule', () => {
  const listing = `Chain WRN-w0-FWD (1 references)
    pkts      bytes target     prot opt in     out     source               destination
      42     3528 DROP       all  --  !w0    *       0.0.0.0/0            100.64.0.0/10        ctstate NEW /* ${IPTABLES_DROP_COMMENT} */
`;
  assert.equal(droppedFromIptables(listing), 42);
  assert.equal(droppedFromIptables('Chain X\n'), 0);
});

test('an IPv6 route is refused on the iptables backend with the nftables hint', () => {
  assert.throws(
    () =>
      buildIptablesRestore('WRN-w0', 'w0', overlay, [
        { route: parseIpPrefix('fd00:77::/64')!, via: 'eth1', snatTo: 'fd00:77::1' },
      ]),
    (e: Error) => e.message === IPV6_NEEDS_NFT,
  );
});
