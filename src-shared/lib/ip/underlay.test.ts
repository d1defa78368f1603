// Underlay addresses of either family as systems report them (endpoint reports, enrolment) and
// as maps name them (lib/ip/underlay.ts): IPv6 in brackets and canonical form; addresses no peer could send to refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { endpointText, observedEndpoint, reportedAddress, reportedEndpoint } from './underlay.js';

test('reported addresses: IPv4 and global or unique local IPv6 pass in canonical form; unusable ones say why', () => {
  assert.equal(reportedAddress('192.0.2.5'), '192.0.2.5');
  assert.equal(reportedAddress('2001:DB8:0:0::5'), '2001:db8::5');
  assert.equal(reportedAddress('fd12:3456::1'), 'fd12:3456::1');
  const refused: [string, RegExp][] = [
    ['127.0.0.1', /loopback/],
    ['::1', /loopback/],
    ['::', /unspecified/],
    ['fe80::1', /link-local/],
    ['ff02::1', /multicast/],
    ['224.0.0.1', /multicast/],
    ['::ffff:192.0.2.5', /IPv4-mapped/],
    ['[2001:db8::5]', /not an IPv4 or IPv6 address/],
    ['2001:db8::5%eth0', /not an IPv4 or IPv6 address/],
    ['example.com', /not an IPv4 or IPv6 address/],
  ];
  for (const [text, why] of refused) {
    const r = reportedAddress(text);
    assert.ok(typeof r === 'object', text);
    assert.match(r.problem, why, text);
  }
});

test('observed endpoints: mapped IPv4 is IPv4, IPv6 goes in brackets, loopback and link-local are nobody', () => {
  assert.equal(observedEndpoint('::ffff:198.51.100.7', 51820), '198.51.100.7:51820');
  assert.equal(observedEndpoint('2001:db8:0::7', 51820), '[2001:db8::7]:51820');
  assert.equal(observedEndpoint('::1', 51820), null);
  assert.equal(observedEndpoint('127.0.0.1', 51820), null);
  assert.equal(observedEndpoint('fe80::7', 51820), null);
  assert.equal(observedEndpoint('2001:db8::7', 0), null);
  assert.equal(endpointText('2001:db8::7', 3478), '[2001:db8::7]:3478');
  assert.equal(endpointText('::ffff:192.0.2.1', 3478), '192.0.2.1:3478');
});

test('reported endpoints: [v6]:port in canonical form; a bare IPv6 address with a port is refused', () => {
  assert.equal(reportedEndpoint('[2001:DB8::2]:51820'), '[2001:db8::2]:51820');
  assert.equal(reportedEndpoint('198.51.100.2:51820'), '198.51.100.2:51820');
  for (const bad of ['2001:db8::2:51820', '[2001:db8::2]', '[fe80::2]:1', '[::1]:51820', '[::ffff:1.2.3.4]:5'])
    assert.equal(typeof reportedEndpoint(bad), 'object', bad);
});
