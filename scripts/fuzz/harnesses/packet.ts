// The firewall's IPv4 packet parser (helper/src/firewall/packet.ts parsePacket): every packet
// a peer sends after decryption and every packet the system sends into the tunnel. IPv6 is not
// parsed yet; it must come out as its own drop reason, never misread as IPv4.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { guard } from '../guard.js';
import { ParsedPacket, parsePacket } from '../../../helper/src/firewall/packet.js';
import { DROP, PASS, REASONS } from '../../../helper/src/firewall/reasons.js';
import { udp6 } from '../../../helper/src/wireguard/device/fake-io.js';
import { FLAGS, fragment, icmpEcho, icmpError, tcp, udp } from '../../../helper/src/firewall/testing.js';

const FIELDS = ['proto', 'src', 'dst', 'srcPort', 'dstPort', 'tcpFlags', 'icmpType', 'icmpCode', 'isError'] as const;
const INNER = ['innerProto', 'innerSrc', 'innerDst', 'innerSrcPort', 'innerDstPort', 'innerIcmpType'] as const;

function fields(p: ParsedPacket): unknown[] {
  return [...FIELDS, ...(p.isError ? INNER : [])].map((k) => p[k]);
}

// dirty is a ParsedPacket full of values no packet gives, so a field the parser forgets to set
// shows up as a difference from a fresh one.
function dirty(): ParsedPacket {
  const p = new ParsedPacket();
  for (const k of [...FIELDS, ...INNER]) (p as unknown as Record<string, unknown>)[k] = k === 'isError' ? true : 0xdead;
  return p;
}

export const packet: HarnessSpec = {
  name: 'firewall-packet',
  properties: [
    'parsePacket returns PASS or a known drop code for any bytes and never throws',
    'it never reads outside buf[off, off+len): the same verdict and fields alone, inside a larger buffer, and guarded',
    'a packet it passes has every field set by this packet (none left from the previous one) and in range',
    'a packet whose version nibble is 6 is dropped as ipv6-not-filtered, whatever follows',
  ],
  testIterations: 8000,
  create() {
    const u = udp('10.0.0.1', 5000, '10.0.0.2', 53);
    return {
      seeds: [
        tcp('10.0.0.1', 1234, '10.0.0.2', 22, FLAGS.syn),
        u,
        icmpEcho('10.0.0.1', '10.0.0.2', 8, 0xbeef),
        icmpError('10.0.0.2', '10.0.0.1', u, 3, 3),
        icmpError('10.0.0.2', '10.0.0.1', icmpEcho('10.0.0.1', '10.0.0.2', 8, 7), 11, 0),
        fragment(tcp('10.0.0.1', 1, '10.0.0.2', 2, FLAGS.ack)),
        udp6('fd7a:115c:a1e0::1', 'fd7a:115c:a1e0::2', Buffer.from('v6')),
      ],
      dictionary: [
        Buffer.from([0x45]),
        Buffer.from([0x46]),
        Buffer.from([0x60]),
        Buffer.from([0x40, 0x00]),
        Buffer.from([6]),
        Buffer.from([17]),
      ],
      maxLen: 2048,
      run(input) {
        const g = guard(input);
        const fresh = new ParsedPacket();
        const verdict = parsePacket(g.view, 0, input.length, fresh);
        assert.equal(g.pastEnd(), null, `parsePacket read past the end: ${g.pastEnd()}`);
        assert.ok(Number.isInteger(verdict) && REASONS[verdict] !== undefined, `unknown verdict ${verdict}`);
        const big = Buffer.concat([Buffer.alloc(5, 0x45), input, Buffer.alloc(80, 0xff)]);
        const inside = dirty();
        assert.equal(parsePacket(big, 5, input.length, inside), verdict, 'a different verdict inside a larger buffer');
        if (input.length > 0 && input[0]! >> 4 === 6) assert.equal(verdict, DROP.ipv6NotFiltered, 'IPv6 misread');
        if (verdict !== PASS) return REASONS[verdict]!;
        assert.deepEqual(fields(inside), fields(fresh), 'fields differ: one was left from before or read from outside');
        for (const k of ['srcPort', 'dstPort', 'innerSrcPort', 'innerDstPort'] as const)
          assert.ok(
            !fresh.isError && k.startsWith('inner') ? true : fresh[k] >= 0 && fresh[k] <= 65535,
            `${k} ${fresh[k]}`,
          );
        assert.ok(fresh.src >= 0 && fresh.src <= 0xffffffff && fresh.dst >= 0 && fresh.dst <= 0xffffffff);
        return `pass:${fresh.proto}:${fresh.isError ? `error-${fresh.innerProto}` : fresh.icmpType}`;
      },
    };
  },
};
