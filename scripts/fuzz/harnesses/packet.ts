// The firewall's packet parser (helper/src/firewall/packet.ts parsePacket, with packet4.ts and
// packet6.ts): every packet a peer sends after decryption and every packet the system sends into
// the tunnel. IPv6 packets are held against a second reading of the RFCs (packet6-reference.ts):
// extension header chains and their bounds, fragments, ICMPv6 errors and the packets they quote.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { guard } from '../guard.js';
import { ParsedPacket, parsePacket } from '../../../helper/src/firewall/packet.js';
import { PASS, REASONS } from '../../../helper/src/firewall/reasons.js';
import {
  FLAGS,
  firstFragment,
  fragment,
  icmpEcho,
  icmpError,
  icmpMessage,
  tcp,
  udp,
  withExt,
} from '../../../helper/src/firewall/testing.js';
import { reference6 } from './packet6-reference.js';

const FIELDS = [
  'family',
  'proto',
  'srcPort',
  'dstPort',
  'tcpFlags',
  'icmpType',
  'icmpCode',
  'echo',
  'isError',
] as const;
const INNER = ['innerProto', 'innerSrcPort', 'innerDstPort', 'innerIcmpType'] as const;

function fields(p: ParsedPacket): unknown[] {
  const addr = [...p.addr.subarray(0, p.isError ? 16 : 8)];
  return [...[...FIELDS, ...(p.isError ? INNER : [])].map((k) => p[k]), addr];
}

// asReference lays out a parsed packet as reference6 does, to compare the two.
function asReference(p: ParsedPacket): Record<string, unknown> {
  const r: Record<string, unknown> = { addr: [...p.addr.subarray(0, 8)] };
  for (const k of FIELDS) r[k] = p[k];
  if (p.isError) {
    for (const k of INNER) r[k] = p[k];
    r.inner = [...p.addr.subarray(8, 16)];
  }
  return r;
}

const A6 = 'fd7a:115c:a1e0::1';
const B6 = 'fd7a:115c:a1e0::2';

// seeds6 are IPv6 packets that reach each part of packet6.ts.
function seeds6(): Buffer[] {
  const u = udp(A6, 5000, B6, 53);
  const syn = tcp(A6, 1234, B6, 22, FLAGS.syn);
  return [
    syn,
    u,
    icmpEcho(A6, B6, 8, 0xbeef),
    icmpError(B6, A6, u),
    icmpError(B6, A6, withExt(icmpEcho(A6, B6, 8, 7), [{ type: 60 }]), 2, 0),
    withExt(syn, [{ type: 0 }, { type: 43, size: 24 }, { type: 60 }, { type: 51, size: 24 }]),
    withExt(u, [{ type: 44, offset: 0, more: false }]),
    firstFragment(syn),
    fragment(syn),
    withExt(
      u,
      Array.from({ length: 9 }, () => ({ type: 60 })),
    ),
    icmpMessage(A6, B6, 135, 0, 20),
    icmpMessage(A6, B6, 143, 0, 20),
  ];
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
    'an IPv6 packet (version nibble 6) gets the verdict and fields of an independent reading of RFC 8200 and RFC 4443 (packet6-reference.ts)',
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
        ...seeds6(),
      ],
      dictionary: [
        Buffer.from([0x45]),
        Buffer.from([0x46]),
        Buffer.from([0x60]),
        Buffer.from([0x40, 0x00]),
        Buffer.from([6]),
        Buffer.from([17]),
        // IPv6 next headers (hop-by-hop, routing, fragment, ESP, AH, ICMPv6, none, destination)
        // and ICMPv6 types (errors, echo, neighbour solicitation).
        ...[0, 43, 44, 50, 51, 58, 59, 60, 1, 2, 4, 128, 129, 135].map((n) => Buffer.from([n])),
        Buffer.from([0x00, 0x01]),
        Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]),
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
        const v6 = input.length > 0 && input[0]! >> 4 === 6;
        if (v6) {
          const ref = reference6(input);
          assert.equal(REASONS[verdict], ref.verdict, 'IPv6 verdict differs from the reference');
          if (verdict === PASS)
            assert.deepEqual(asReference(fresh), ref.fields, 'IPv6 fields differ from the reference');
        }
        if (verdict !== PASS) return `${v6 ? 'v6:' : ''}${REASONS[verdict]!}`;
        assert.deepEqual(fields(inside), fields(fresh), 'fields differ: one was left from before or read from outside');
        for (const k of ['srcPort', 'dstPort', 'innerSrcPort', 'innerDstPort'] as const)
          assert.ok(
            !fresh.isError && k.startsWith('inner') ? true : fresh[k] >= 0 && fresh[k] <= 65535,
            `${k} ${fresh[k]}`,
          );
        assert.equal(fresh.family, v6 ? 6 : 4, 'the family read is not the version nibble');
        return `pass:${fresh.family}:${fresh.proto}:${fresh.isError ? `error-${fresh.innerProto}` : fresh.icmpType}`;
      },
    };
  },
};
