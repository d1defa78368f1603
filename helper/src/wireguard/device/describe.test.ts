import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describePacket } from './describe.js';
import { icmpEcho, udp6 } from './fake-io.js';

test('traces describe IPv6 with bracketed addresses and ports, and IPv4 as before', () => {
  const u = udp6('fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::2', Buffer.from('hi'), 40000, 53);
  assert.equal(describePacket(u, 0, u.length), 'UDP [fd7a:115c:a1e0::1]:40000 → [fd7a:115c:a1e0::2]:53, 50 B');
  const hopByHop = Buffer.from(u);
  hopByHop[6] = 0; // an extension header first: the ports are not right after the fixed header
  assert.equal(describePacket(hopByHop, 0, 50), 'next header 0 [fd7a:115c:a1e0::1] → [fd7a:115c:a1e0::2], 50 B');
  assert.equal(describePacket(u, 0, 41), 'UDP [fd7a:115c:a1e0::1] → [fd7a:115c:a1e0::2], 41 B', 'ports cut off');
  const e = icmpEcho('100.64.0.1', '100.64.0.2');
  assert.equal(describePacket(e, 0, e.length), 'ICMP 100.64.0.1 → 100.64.0.2, 28 B');
  assert.equal(describePacket(u, 0, 39), 'no whole IPv4 or IPv6 header (version 6), 39 B');
  assert.equal(describePacket(u, 0, 0), 'no whole IPv4 or IPv6 header (version 0), 0 B');
});
