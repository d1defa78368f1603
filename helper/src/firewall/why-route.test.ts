import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { whyRoute, type RouteFacts } from './why-route.js';

const pfx = (s: string) => parseIpPrefix(s)!;
const OVERLAYS = [pfx('100.64.0.0/10'), pfx('fd12:3456:789a::/48')];

function facts(over: Partial<RouteFacts> = {}): RouteFacts {
  return { overlays: OVERLAYS, coordinated: true, via: [], provided: [], unserved: [], grants: [], ...over };
}

test('why ADDRESS names the exit node and the granted route that carry it, the most specific route first', () => {
  const f = facts({
    via: [
      { identity: 'GW111', name: 'gw', routes: [pfx('198.51.100.0/24')] },
      { identity: 'GW222', name: 'wide', routes: [pfx('198.51.0.0/16'), pfx('fd00:77::/64')] },
    ],
  });
  const r = whyRoute('198.51.100.10', f)!;
  assert.deepEqual(r.detail.via, { identity: 'GW111', name: 'gw', route: '198.51.100.0/24', by: 'route-grant' });
  assert.match(r.text, /^198\.51\.100\.10: reached through exit node GW111 \(gw\) by route grant 198\.51\.100\.0\/24/);
  assert.match(r.text, /GW111's own address still needs a policy/);
  assert.equal(whyRoute('198.51.7.1', f)!.detail.via?.identity, 'GW222');
  assert.equal(whyRoute('FD00:77::0:10', f)!.detail.via?.route, 'fd00:77::/64', 'IPv6 in any spelling');
  const stat = whyRoute('198.51.100.10', { ...f, coordinated: false })!;
  assert.equal(stat.detail.via?.by, 'policy');
  assert.match(stat.text, /the policy from this system to GW111 decides what may pass \(warren why GW111\)/);
});

test('why ADDRESS with no route covering it says so; overlay addresses and non-addresses are not routes', () => {
  const f = facts({ via: [{ identity: 'GW111', name: 'gw', routes: [pfx('198.51.100.0/24')] }] });
  const r = whyRoute('203.0.113.5', f)!;
  assert.equal(r.detail.via, null);
  assert.equal(r.text, '203.0.113.5: no route: no grant covers it (no exit node routes it for this system)');
  assert.equal(whyRoute('100.64.0.9', f), null);
  assert.equal(whyRoute('fd12:3456:789a::9', f), null);
  assert.equal(whyRoute('GW111', f), null);
  assert.equal(whyRoute('198.51.100.0/24', f), null);
});

test('why ADDRESS on an exit node names the provided subnet and the peers granted it, or that it is unserved', () => {
  const f = facts({
    provided: [pfx('198.51.100.0/24')],
    grants: [
      { identity: 'DEV11', name: 'laptop', routes: [pfx('198.51.100.0/25')] },
      { identity: 'DEV22', name: 'desk', routes: [pfx('198.51.100.0/24')] },
    ],
  });
  assert.deepEqual(whyRoute('198.51.100.10', f)!.detail.provided, {
    route: '198.51.100.0/24',
    grantedTo: ['DEV11', 'DEV22'],
  });
  assert.match(whyRoute('198.51.100.200', f)!.text, /provides as an exit node; granted to DEV22$/);
  assert.match(
    whyRoute('198.51.100.10', { ...f, grants: [] })!.text,
    /no route grant covers it, so no peer may reach it$/,
  );
  const off = whyRoute('198.51.100.10', facts({ unserved: [pfx('198.51.100.0/24')] }))!;
  assert.equal(off.detail.unserved, '198.51.100.0/24');
  assert.match(off.text, /not served \(ExitNode\.Serve is off\)$/);
});
