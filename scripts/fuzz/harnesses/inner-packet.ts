// The device's IP header checks and cryptokey routing lookups on inner packets, IPv4 and IPv6
// (helper/src/wireguard/device/inner-packet.ts, allowed-ips.ts, describe.ts): every packet a
// peer sends after decryption and every packet the system writes into the adapter.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { guard } from '../guard.js';
import { BAD_LENGTH, BAD_VERSION, ipPacketLength } from '../../../helper/src/wireguard/device/inner-packet.js';
import { AllowedIps } from '../../../helper/src/wireguard/device/allowed-ips.js';
import { describePacket } from '../../../helper/src/wireguard/device/describe.js';
import { udp6 } from '../../../helper/src/wireguard/device/fake-io.js';
import { icmpEcho, udp } from '../../../helper/src/firewall/testing.js';
import { parseIpPrefix, prefixContains, type IpAddress, type IpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { ipv6FromBytes } from '../../../src-shared/lib/ip/ipv6.js';

// A table of both families whose prefixes nest, so lookups take different depths.
const TABLE: Array<[string, number]> = [
  ['0.0.0.0/0', 1],
  ['10.0.0.0/8', 2],
  ['10.0.0.2/32', 3],
  ['::/0', 4],
  ['fd7a:115c:a1e0::/48', 5],
  ['fd7a:115c:a1e0::2/128', 6],
  ['2001:db8::/32', 7],
  ['::ffff:0:0/96', 8],
];
const PREFIXES: Array<[IpPrefix, number]> = TABLE.map(([s, v]) => [parseIpPrefix(s)!, v]);

/** reference computes the declared length straight from RFC 791 §3.1 and RFC 8200 §3. */
function reference(b: Buffer): number {
  if (b.length === 0) return BAD_VERSION;
  const version = b[0]! >> 4;
  if (version !== 4 && version !== 6) return BAD_VERSION;
  const header = version === 4 ? 20 : 40;
  if (b.length < header) return BAD_LENGTH;
  const total = version === 4 ? b.readUInt16BE(2) : 40 + b.readUInt16BE(4);
  return total < header || total > b.length ? BAD_LENGTH : total;
}

function bruteForce(a: IpAddress): number | undefined {
  let best: [IpPrefix, number] | undefined;
  for (const e of PREFIXES) if (prefixContains(e[0], a) && (!best || e[0].bits > best[0].bits)) best = e;
  return best?.[1];
}

/** addressAt reads the address of the packet's family at byte `at`. */
function addressAt(b: Buffer, v6: boolean, at: number): IpAddress {
  return v6 ? { family: 6, ...ipv6FromBytes(b, at)! } : { family: 4, v4: b.readUInt32BE(at) };
}

export const innerPacket: HarnessSpec = {
  name: 'inner-packet',
  properties: [
    'ipPacketLength returns BAD_VERSION, BAD_LENGTH or the declared length, as RFC 791 §3.1 and RFC 8200 §3 define it, and never throws',
    'it reads only its slice: the same answer alone, guarded, and inside a larger buffer',
    'for an accepted packet, the source and destination lookups (lookup4, lookup6) agree with a brute-force longest-prefix match and read nothing past the packet',
    'describePacket never throws nor reads past the packet, and names the family it read',
  ],
  testIterations: 8000,
  create() {
    const table = new AllowedIps<number>();
    for (const [p, v] of PREFIXES) table.insert(p, v);
    return {
      seeds: [
        udp6('fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::2', Buffer.from('hello')),
        udp6('2001:db8::1', '::ffff:10.0.0.2', Buffer.alloc(0)),
        udp('10.0.0.1', 5000, '10.0.0.2', 53),
        icmpEcho('10.0.0.2', '10.0.0.1', 0, 7),
        Buffer.from([0x60, 0, 0, 0, 0, 0, 0, 64]),
      ],
      dictionary: [
        Buffer.from([0x60]),
        Buffer.from([0x45]),
        Buffer.from([0xff, 0xff]),
        Buffer.from([58]),
        Buffer.from([0]),
      ],
      maxLen: 2048,
      run(input) {
        const g = guard(input);
        const len = ipPacketLength(g.view, 0, input.length);
        assert.equal(g.pastEnd(), null, `ipPacketLength read past the end: ${g.pastEnd()}`);
        assert.equal(len, reference(input), 'differs from the RFC reference');
        const big = Buffer.concat([Buffer.alloc(3, 0x60), input, Buffer.alloc(70, 0x45)]);
        assert.equal(ipPacketLength(big, 3, input.length), len, 'a different answer inside a larger buffer');
        const text = describePacket(g.view, 0, input.length);
        assert.equal(g.pastEnd(), null, `describePacket read past the end: ${g.pastEnd()}`);
        if (len < 0) return len === BAD_VERSION ? 'bad-version' : 'bad-length';
        const v6 = input[0]! >> 4 === 6;
        assert.ok(v6 ? text.includes('[') : !text.includes('['), `described as the wrong family: ${text}`);
        const packet = guard(input.subarray(0, len));
        const owners = (v6 ? [8, 24] : [12, 16]).map((at) => {
          const got = v6 ? table.lookup6(packet.view, at) : table.lookup4(input.readUInt32BE(at));
          assert.equal(got, bruteForce(addressAt(input, v6, at)), `lookup at byte ${at}`);
          return got ?? '-';
        });
        assert.equal(packet.pastEnd(), null, `a lookup read past the packet: ${packet.pastEnd()}`);
        return `ipv${v6 ? 6 : 4}:${owners.join('>')}`;
      },
    };
  },
};
