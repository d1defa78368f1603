// IP address text (src-shared/lib/ip/: ipv4.ts, ipv6.ts, addr.ts, endpoint.ts): in profiles,
// maps, policy files, the CLI and the API.
import assert from 'node:assert/strict';
import { isIPv4, isIPv6 } from 'node:net';
import type { HarnessSpec } from '../engine.js';
import {
  formatCidr,
  formatEndpoint,
  formatIPv4,
  parseCidr,
  parseEndpoint,
  parseIPv4,
} from '../../../src-shared/lib/ip/ipv4.js';
import { formatIPv6, parseIPv6, parseScopedIPv6, IPV6_MAX_TEXT } from '../../../src-shared/lib/ip/ipv6.js';
import { formatIp, formatIpPrefix, parseIp, parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { formatIpEndpoint, parseIpEndpoint } from '../../../src-shared/lib/ip/endpoint.js';

function words(a: { w0: number; w1: number; w2: number; w3: number }): boolean {
  return [a.w0, a.w1, a.w2, a.w3].every((w) => Number.isInteger(w) && w >= 0 && w <= 0xffffffff);
}

export const ip: HarnessSpec = {
  name: 'ip',
  properties: [
    'no IPv4, IPv6, prefix or endpoint parser throws',
    'IPv4 and IPv6 acceptance agrees with node:net (IPv4 only in canonical dotted-decimal form)',
    'whatever a parser accepts formats to text that parses to the same value, and IPv6 text is canonical',
  ],
  testIterations: 8000,
  create() {
    return {
      seeds: [
        '100.64.0.1',
        '10.0.0.0/8',
        '192.0.2.1:51820',
        '2001:db8::1',
        '::ffff:192.0.2.1',
        'fe80::1%eth0',
        '[fd00::1]:443',
        'fd12:3456:789a::/48',
        '1:2:3:4:5:6:7:8',
        '0.0.0.0/0',
      ].map((s) => Buffer.from(s, 'latin1')),
      dictionary: [':', '::', '.', '/', '[', ']', '%', 'ffff', '255', '0', '65535', '128', '32'],
      maxLen: 96,
      run(input) {
        const s = input.toString('latin1');
        const out: string[] = [];
        const v4 = parseIPv4(s);
        assert.equal(
          v4 !== null,
          isIPv4(s) && formatIPv4(parseIPv4(s) ?? 0) === s,
          'IPv4 acceptance differs from node:net',
        );
        if (v4 !== null) assert.equal(formatIPv4(v4), s);
        const cidr = parseCidr(s);
        if (cidr !== null) assert.deepEqual(parseCidr(formatCidr(cidr)), cidr);
        const ep = parseEndpoint(s);
        if (ep !== null) assert.deepEqual(parseEndpoint(formatEndpoint(ep)), ep);
        const v6 = parseIPv6(s);
        if (!s.includes('%')) assert.equal(v6 !== null, isIPv6(s), 'IPv6 acceptance differs from node:net');
        if (v6 !== null) {
          assert.ok(words(v6));
          const text = formatIPv6(v6);
          assert.ok(text.length <= IPV6_MAX_TEXT && text === text.toLowerCase());
          assert.deepEqual(parseIPv6(text), v6);
          assert.equal(formatIPv6(parseIPv6(text)!), text, 'canonical text is not stable');
        }
        const scoped = parseScopedIPv6(s);
        if (scoped !== null) assert.ok(words(scoped.addr));
        const any = parseIp(s);
        if (any !== null) assert.deepEqual(parseIp(formatIp(any)), any);
        const prefix = parseIpPrefix(s);
        if (prefix !== null) assert.deepEqual(parseIpPrefix(formatIpPrefix(prefix)), prefix);
        const endpoint = parseIpEndpoint(s);
        if (endpoint !== null) assert.deepEqual(parseIpEndpoint(formatIpEndpoint(endpoint)), endpoint);
        for (const [name, v] of [
          ['v4', v4],
          ['cidr', cidr],
          ['ep', ep],
          ['v6', v6],
          ['scoped', scoped],
          ['ip', any],
          ['prefix', prefix],
          ['endpoint', endpoint],
        ] as const)
          if (v !== null) out.push(name);
        return out.length > 0 ? out.join('+') : 'none';
      },
    };
  },
};
