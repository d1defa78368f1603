// The NAT wire contract (src-shared/wire/nat-*.ts): every builder round-trips through its
// parser; every truncation, extension, wrong version and out-of-range field is refused; random
// and mutated bytes never make a parser throw, and whatever a parser accepts re-encodes to
// exactly the input.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes, randomInt } from 'node:crypto';
import {
  ipv4Octets,
  NAT_CONTEXT,
  NAT_LIMITS,
  NAT_MAGIC,
  NatKind,
  natKind,
  peerId,
  peerIdHex,
  signedBytes,
  withMac as withNatMac,
  withSignature,
} from './nat-wire.js';
import {
  discoveryReplyBody,
  discoveryRequestBody,
  parseDiscoveryReply,
  parseDiscoveryRequest,
} from './nat-discovery.js';
import { discoBody, parseDisco, withMac } from './nat-disco.js';

/** v4b is a dotted quad as the 4 bytes an address field carries. */
const v4b = (s: string): Uint8Array => Uint8Array.from(s.split('.').map(Number));
/** V6 is 2001:db8::7 as the 16 bytes an address field carries. */
const V6 = Uint8Array.from(Buffer.from('20010db8000000000000000000000007', 'hex'));
import {
  parseRelayFrame,
  parseRelayRefused,
  parseRelayRegister,
  parseRelayRegistered,
  parseRelayToken,
  RELAY_HEADER_BYTES,
  relayFrame,
  relayRefused,
  relayRegistered,
  relayRegisterBody,
  relayTokenBody,
  splitRelayToken,
} from './nat-relay.js';
import { TCP_MAX_FRAME, TcpFrameReader, tcpFrame } from './nat-tcp.js';

const nonce = randomBytes(16);
const sig = randomBytes(64);
const wg = randomBytes(32);
const mk = randomBytes(32);
const mac = randomBytes(16);
const token = withNatMac(withSignature(relayTokenBody('G982V', wg, mk, 1_900_000_000_000), sig), mac);
const request = (id: string, ts: number): Uint8Array =>
  withSignature(withNatMac(discoveryRequestBody(id, ts, nonce), mac), sig);

/** Codec: a parser with an encoder for its result, so a parse can be checked by re-encoding. */
interface Codec {
  name: string;
  parse(buf: Uint8Array): unknown;
  encode(v: never): Uint8Array;
  valid: Uint8Array[];
  /** fixedLength: no longer input is valid (relay frames take any payload up to the limit) */
  fixedLength: boolean;
  /** versioned: byte 4 (or 0 for tokens) is the version */
  versionAt: number | null;
}

const codecs: Codec[] = [
  {
    name: 'discovery request',
    parse: parseDiscoveryRequest,
    fixedLength: true,
    versionAt: 4,
    encode: (v: NonNullable<ReturnType<typeof parseDiscoveryRequest>>) =>
      withSignature(withNatMac(discoveryRequestBody(v.systemId, v.ts, v.nonce), v.mac), v.signature),
    valid: [
      request('a', 0),
      request('x'.repeat(64), Number.MAX_SAFE_INTEGER),
      request('host_1.example:2-b', Date.now()),
    ],
  },
  {
    name: 'discovery reply',
    parse: parseDiscoveryReply,
    fixedLength: true,
    versionAt: 4,
    encode: (v: NonNullable<ReturnType<typeof parseDiscoveryReply>>) =>
      withSignature(discoveryReplyBody(v.nonce, v.addr, v.port), v.signature),
    valid: [
      withSignature(discoveryReplyBody(nonce, v4b('203.0.113.7'), 41641), sig),
      withSignature(discoveryReplyBody(nonce, v4b('0.0.0.0'), 1), sig),
      withSignature(discoveryReplyBody(nonce, v4b('255.255.255.255'), 65535), sig),
      withSignature(discoveryReplyBody(nonce, V6, 51820), sig),
    ],
  },
  {
    name: 'disco',
    parse: parseDisco,
    fixedLength: true,
    versionAt: 4,
    encode: (v: NonNullable<ReturnType<typeof parseDisco>>) =>
      withMac(discoBody(v.kind, v.senderId, v.txid, v.seen ?? undefined), v.mac),
    valid: [
      withMac(discoBody('ping', randomBytes(8), randomBytes(12)), randomBytes(16)),
      withMac(
        discoBody('pong', randomBytes(8), randomBytes(12), { addr: v4b('198.51.100.2'), port: 3478 }),
        randomBytes(16),
      ),
      withMac(discoBody('pong', randomBytes(8), randomBytes(12), { addr: V6, port: 3478 }), randomBytes(16)),
    ],
  },
  {
    name: 'relay token',
    parse: parseRelayToken,
    fixedLength: true,
    versionAt: 0,
    encode: (v: NonNullable<ReturnType<typeof parseRelayToken>>) =>
      withNatMac(
        withSignature(relayTokenBody(v.systemId, v.wireguardKey, v.machineKey, v.expires), v.signature),
        v.mac,
      ),
    valid: [token, withNatMac(withSignature(relayTokenBody('z'.repeat(64), wg, mk, 0), sig), mac)],
  },
  {
    name: 'relay register',
    parse: parseRelayRegister,
    fixedLength: true,
    versionAt: 4,
    encode: (v: NonNullable<ReturnType<typeof parseRelayRegister>>) =>
      withSignature(relayRegisterBody(v.token, v.ts, v.nonce), v.signature),
    valid: [
      withSignature(relayRegisterBody(token, Date.now(), nonce), sig),
      withSignature(relayRegisterBody(randomBytes(NAT_LIMITS.relayTokenBytes), 1, nonce), sig),
      withSignature(relayRegisterBody(Uint8Array.of(1), 0, nonce), sig),
    ],
  },
  {
    name: 'relay registered',
    parse: parseRelayRegistered,
    fixedLength: true,
    versionAt: 4,
    encode: (v: NonNullable<ReturnType<typeof parseRelayRegistered>>) => relayRegistered(v.nonce, v.refreshSeconds),
    valid: [relayRegistered(nonce, 25), relayRegistered(nonce, 1), relayRegistered(nonce, 65535)],
  },
  {
    name: 'relay refused',
    parse: parseRelayRefused,
    fixedLength: true,
    versionAt: 4,
    encode: (v: NonNullable<ReturnType<typeof parseRelayRefused>>) => relayRefused(v.nonce, v.reason),
    valid: [
      relayRefused(nonce, 'token expired'),
      relayRefused(nonce, ''),
      relayRefused(nonce, '~'.repeat(NAT_LIMITS.refusalReasonChars)),
    ],
  },
  {
    name: 'relay frame',
    fixedLength: false,
    versionAt: null,
    parse: (b: Uint8Array) => {
      const f = parseRelayFrame(b);
      return f && { ...f, payload: b.subarray(f.payloadOffset, f.payloadOffset + f.payloadLength) };
    },
    encode: (v: { kind: 'send' | 'recv'; id: Uint8Array; payload: Uint8Array }) =>
      relayFrame(v.kind === 'send' ? NatKind.relaySend : NatKind.relayRecv, v.id, v.payload),
    valid: [
      relayFrame(NatKind.relaySend, randomBytes(8), randomBytes(1)),
      relayFrame(NatKind.relayRecv, randomBytes(8), randomBytes(NAT_LIMITS.relayPayloadBytes)),
      relayFrame(NatKind.relaySend, randomBytes(8), randomBytes(148)),
    ],
  },
];

/** reencodes checks the property every parser must have: accepted input re-encodes exactly. */
function reencodes(c: Codec, buf: Uint8Array): void {
  let v: unknown;
  assert.doesNotThrow(() => (v = c.parse(buf)), `${c.name} threw on ${Buffer.from(buf).toString('hex')}`);
  if (v === null) return;
  if (c.name === 'relay refused') {
    // The parser cleans reasons instead of refusing them: control and non-ASCII bytes read as
    // '?', and it takes up to 255 characters where the builder writes at most 120.
    const reason = (v as { reason: string }).reason;
    assert.match(reason, /^[\x20-\x7e]*$/);
    assert.equal(reason.length, buf[5 + 16]);
    if (
      reason.length > NAT_LIMITS.refusalReasonChars ||
      !/^[\x20-\x7e]*$/.test(Buffer.from(buf.subarray(22)).toString('latin1'))
    )
      return;
  }
  assert.deepEqual(
    Buffer.from(c.encode(v as never)),
    Buffer.from(buf),
    `${c.name}: accepted input does not re-encode to itself`,
  );
}

for (const c of codecs) {
  test(`${c.name}: valid messages round-trip`, () => {
    for (const buf of c.valid) {
      assert.notEqual(c.parse(buf), null, `${c.name} refused a valid message`);
      reencodes(c, buf);
    }
  });

  test(`${c.name}: every truncation, extension, wrong version and wrong magic is refused`, () => {
    for (const buf of c.valid) {
      const minimum = c.fixedLength ? buf.length : RELAY_HEADER_BYTES + 1;
      for (let n = 0; n < minimum; n++)
        assert.equal(c.parse(buf.subarray(0, n)), null, `${c.name} accepted ${n} of ${buf.length} bytes`);
      if (c.fixedLength) {
        assert.equal(c.parse(Buffer.concat([buf, Uint8Array.of(0)])), null, `${c.name} accepted an extra byte`);
      } else {
        const f = parseRelayFrame(buf);
        const room = NAT_LIMITS.relayPayloadBytes - f!.payloadLength;
        assert.equal(
          c.parse(Buffer.concat([buf, randomBytes(room + 1)])),
          null,
          `${c.name} accepted an oversized payload`,
        );
      }
      if (c.versionAt !== null) {
        // Every other version, the one before a layout change (1 for tokens and requests) too.
        for (const v of [0, 1, 2, 3, 255]) {
          if (v === buf[c.versionAt]) continue;
          const b = Buffer.from(buf);
          b[c.versionAt] = v;
          assert.equal(c.parse(b), null, `${c.name} accepted version ${v}`);
        }
      }
      if (c.versionAt !== 0) {
        for (let i = 0; i < 3; i++) {
          const b = Buffer.from(buf);
          b[i]! ^= 0x20;
          assert.equal(c.parse(b), null, `${c.name} accepted a wrong magic byte ${i}`);
        }
        // Another kind in byte 3.
        for (const kind of Object.values(NatKind)) {
          if (
            kind === buf[3] ||
            (c.name === 'relay frame' && (kind === NatKind.relaySend || kind === NatKind.relayRecv))
          )
            continue;
          if (c.name === 'disco' && (kind === NatKind.ping || kind === NatKind.pong)) continue;
          const b = Buffer.from(buf);
          b[3] = kind;
          assert.equal(c.parse(b), null, `${c.name} accepted kind 0x${kind.toString(16)}`);
        }
      }
    }
  });

  test(`${c.name}: random and mutated bytes never throw, and what parses re-encodes to itself`, () => {
    for (let i = 0; i < 3_000; i++) {
      // Entirely random bytes are not Warren messages (a 1 in 16 million chance aside).
      const r = randomBytes(randomInt(0, 700));
      if (c.versionAt !== 0 && !(r[0] === NAT_MAGIC[0] && r[1] === NAT_MAGIC[1] && r[2] === NAT_MAGIC[2])) {
        assert.equal(c.parse(r), null);
      }
      reencodes(c, r);
      // The right header with a random body.
      const base = c.valid[i % c.valid.length]!;
      const h = Buffer.concat([
        base.subarray(0, c.versionAt === 0 ? 1 : 5),
        randomBytes(randomInt(0, base.length + 8)),
      ]);
      reencodes(c, h);
      // A valid message with a few random bytes changed, and length fields especially.
      const m = Buffer.from(base);
      for (let k = randomInt(1, 4); k > 0; k--) m[randomInt(m.length)] = randomInt(256);
      if (m.length > 7 && i % 3 === 0) m[randomInt(4, 8)] = [0, 1, 64, 65, 255][randomInt(5)]!;
      reencodes(c, m);
    }
  });
}

test('field limits: ids, timestamps, ports, refresh and token sizes', () => {
  const cases: { name: string; buf: Uint8Array; parse: (b: Uint8Array) => unknown }[] = [];
  const req = Buffer.from(request('abc', 5));
  const idLen = (b: Buffer, at: number, n: number): Buffer => {
    const c = Buffer.from(b);
    c[at] = n;
    return c;
  };
  cases.push({ name: 'discovery id length 0', buf: idLen(req, 5, 0), parse: parseDiscoveryRequest });
  cases.push({ name: 'discovery id length 65', buf: idLen(req, 5, 65), parse: parseDiscoveryRequest });
  const badChar = Buffer.from(req);
  badChar[6] = 0x20;
  cases.push({ name: 'discovery id with a space', buf: badChar, parse: parseDiscoveryRequest });
  const badUtf8 = Buffer.from(req);
  badUtf8[6] = 0xc3;
  cases.push({ name: 'discovery id with broken UTF-8', buf: badUtf8, parse: parseDiscoveryRequest });
  const bigTs = Buffer.from(req);
  bigTs.writeBigUInt64BE(BigInt(Number.MAX_SAFE_INTEGER) + 1n, 9);
  cases.push({ name: 'discovery ts over 2^53', buf: bigTs, parse: parseDiscoveryRequest });
  const reply = Buffer.from(withSignature(discoveryReplyBody(nonce, v4b('1.2.3.4'), 5), sig));
  reply.writeUInt16BE(0, 5 + 16 + 4);
  cases.push({ name: 'discovery reply port 0', buf: reply, parse: parseDiscoveryReply });
  const pong = Buffer.from(
    withMac(discoBody('pong', randomBytes(8), randomBytes(12), { addr: v4b('1.2.3.4'), port: 9 }), randomBytes(16)),
  );
  pong.writeUInt16BE(0, 5 + 8 + 12 + 4);
  cases.push({ name: 'pong port 0', buf: pong, parse: parseDisco });
  const tok = Buffer.from(token);
  cases.push({ name: 'token id length 0', buf: idLen(tok, 1, 0), parse: parseRelayToken });
  cases.push({ name: 'token id length 65', buf: idLen(tok, 1, 65), parse: parseRelayToken });
  const tokBig = Buffer.from(token);
  tokBig.writeBigUInt64BE(2n ** 64n - 1n, 2 + 5 + 64);
  cases.push({ name: 'token expiry over 2^53', buf: tokBig, parse: parseRelayToken });
  const reg = Buffer.from(withSignature(relayRegisterBody(token, 1, nonce), sig));
  const regLen = (n: number): Buffer => {
    const c = Buffer.from(reg);
    c.writeUInt16BE(n, 5);
    return c;
  };
  cases.push({ name: 'register token length 0', buf: regLen(0), parse: parseRelayRegister });
  cases.push({ name: 'register token length 513', buf: regLen(513), parse: parseRelayRegister });
  cases.push({ name: 'register token length one short', buf: regLen(token.length - 1), parse: parseRelayRegister });
  const regTs = Buffer.from(reg);
  regTs.writeBigUInt64BE(2n ** 63n, 7 + token.length);
  cases.push({ name: 'register ts over 2^53', buf: regTs, parse: parseRelayRegister });
  const registered = Buffer.from(relayRegistered(nonce, 25));
  registered.writeUInt16BE(0, 5 + 16);
  cases.push({ name: 'registered refresh 0', buf: registered, parse: parseRelayRegistered });
  const refused = Buffer.from(relayRefused(nonce, 'abc'));
  refused[5 + 16] = 4;
  cases.push({ name: 'refused reason length past the end', buf: refused, parse: parseRelayRefused });
  cases.push({
    name: 'relay frame with no payload',
    buf: relayFrame(NatKind.relaySend, randomBytes(8), new Uint8Array(0)),
    parse: parseRelayFrame,
  });
  for (const c of cases) assert.equal(c.parse(c.buf), null, c.name);
});

test('splitRelayToken finds the MAC of a current token without parsing it, and nothing in others', () => {
  const parts = splitRelayToken(token);
  assert.ok(parts);
  assert.deepEqual(Buffer.from(parts.mac), mac);
  assert.deepEqual(Buffer.from(parts.maced), Buffer.from(token.subarray(0, token.length - 16)));
  const v1 = Buffer.from(token.subarray(0, token.length - 16));
  v1[0] = 1;
  assert.equal(splitRelayToken(v1), null, 'the version-1 layout (no MAC)');
  assert.equal(splitRelayToken(token.subarray(0, 2 + 1 + 64 + 8 + 64 + 16 - 1)), null, 'shorter than any token');
  assert.equal(splitRelayToken(new Uint8Array(0)), null);
});

test('builders refuse what parsers would refuse, and clamp or clean what they can', () => {
  assert.throws(() => discoveryRequestBody('', 0, nonce), /system id/);
  assert.throws(() => discoveryRequestBody('a b', 0, nonce), /system id/);
  assert.throws(() => discoveryRequestBody('x'.repeat(65), 0, nonce), /system id/);
  assert.throws(() => discoveryRequestBody('a', 0, randomBytes(15)), /nonce/);
  assert.throws(() => withSignature(new Uint8Array(4), randomBytes(63)), /signature/);
  assert.throws(() => discoveryReplyBody(nonce, new Uint8Array(5), 1), /4 \(IPv4\) or 16 \(IPv6\) bytes/);
  assert.throws(() => discoveryReplyBody(nonce, new Uint8Array(0), 1), /4 \(IPv4\) or 16 \(IPv6\) bytes/);
  assert.throws(
    () => discoBody('pong', randomBytes(8), randomBytes(12), { addr: new Uint8Array(6), port: 1 }),
    /address/,
  );
  assert.throws(() => discoBody('ping', randomBytes(7), randomBytes(12)), /sender id/);
  assert.throws(() => discoBody('pong', randomBytes(8), randomBytes(12)), /address/);
  assert.throws(() => relayTokenBody('a', randomBytes(31), mk, 0), /32 bytes/);
  assert.throws(() => relayRegisterBody(new Uint8Array(0), 0, nonce), /token length/);
  assert.throws(() => relayRegisterBody(new Uint8Array(513), 0, nonce), /token length/);
  assert.throws(() => tcpFrame(new Uint8Array(0)), /length/);
  assert.throws(() => tcpFrame(new Uint8Array(65536)), /length/);
  assert.equal(parseRelayRegistered(relayRegistered(nonce, 0))?.refreshSeconds, 1);
  assert.equal(parseRelayRegistered(relayRegistered(nonce, 1e6))?.refreshSeconds, 65535);
  assert.equal(parseRelayRefused(relayRefused(nonce, 'bad\nline\u00e9'))?.reason, 'bad?line?');
  assert.equal(parseRelayRefused(relayRefused(nonce, 'r'.repeat(500)))?.reason.length, NAT_LIMITS.refusalReasonChars);
});

test('natKind tells Warren messages from WireGuard ones; ids, contexts and addresses', () => {
  for (const t of [1, 2, 3, 4]) assert.equal(natKind(Uint8Array.of(t, 0, 0, 0, 9, 9)), null, `WireGuard type ${t}`);
  assert.equal(natKind(Uint8Array.of(0x57, 0x52, 0x4e)), null);
  assert.equal(natKind(Uint8Array.of(0x57, 0x52, 0x4e, 0x20)), NatKind.relayRegister);
  assert.equal(natKind(Uint8Array.of(9, 0x57, 0x52, 0x4e, 0x23), 1), NatKind.relaySend);
  assert.equal(natKind(Uint8Array.of(9, 0x57, 0x52, 0x4e, 0x23), 1, 3), null);
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  assert.deepEqual([...peerId(key)], [0, 1, 2, 3, 4, 5, 6, 7]);
  assert.equal(peerIdHex(peerId(key)), '0001020304050607');
  assert.deepEqual(
    Buffer.from(signedBytes(NAT_CONTEXT.relayRegister, Uint8Array.of(1, 2))),
    Buffer.concat([Buffer.from('warren-relay-register-v1\n'), Buffer.from([1, 2])]),
  );
  const ips: [string, number[] | null][] = [
    ['1.2.3.4', [1, 2, 3, 4]],
    ['0.0.0.0', [0, 0, 0, 0]],
    ['255.255.255.255', [255, 255, 255, 255]],
    ['256.1.1.1', null],
    ['1.2.3', null],
    ['1.2.3.4.5', null],
    ['01.2.3.4x', null],
    ['', null],
    ['::1', null],
    ['1.2.3.-4', null],
  ];
  for (const [ip, want] of ips) assert.deepEqual(ipv4Octets(ip) === null ? null : [...ipv4Octets(ip)!], want, ip);
  // A frame read at an offset inside a bigger buffer.
  const inner = relayFrame(NatKind.relayRecv, Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8), Uint8Array.of(42, 43));
  const outer = Buffer.concat([Buffer.from([7, 7, 7]), inner, Buffer.from([9])]);
  const f = parseRelayFrame(outer, 3, inner.length);
  assert.equal(f?.kind, 'recv');
  assert.deepEqual([...f!.id], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual([...outer.subarray(f!.payloadOffset, f!.payloadOffset + f!.payloadLength)], [42, 43]);
});

test('TcpFrameReader: a largest frame sent one byte per push comes out whole, holding at most that frame', () => {
  const frame = relayFrame(NatKind.relaySend, randomBytes(8), randomBytes(NAT_LIMITS.relayPayloadBytes));
  const stream = Buffer.concat([tcpFrame(frame), tcpFrame(Uint8Array.of(7))]);
  const r = new TcpFrameReader();
  const got: Uint8Array[] = [];
  let most = 0;
  for (let at = 0; at < stream.length; at++) {
    got.push(...r.push(stream.subarray(at, at + 1))!);
    most = Math.max(most, r.pendingBytes);
  }
  assert.deepEqual(
    got.map((g) => Buffer.from(g)),
    [Buffer.from(frame), Buffer.of(7)],
  );
  assert.equal(most, 65535, 'one largest frame is all it holds');
  assert.equal(r.pendingBytes, 0);
});

test('TcpFrameReader: frames split anywhere come out whole; bad lengths end the stream', () => {
  const frames = [
    relayFrame(NatKind.relaySend, randomBytes(8), randomBytes(2048)),
    Uint8Array.of(1),
    withSignature(relayRegisterBody(randomBytes(NAT_LIMITS.relayTokenBytes), 1, nonce), sig),
    randomBytes(300),
  ];
  assert.equal(frames[2]!.length, TCP_MAX_FRAME - 64);
  const stream = Buffer.concat(frames.map(tcpFrame));
  for (let trial = 0; trial < 300; trial++) {
    const r = new TcpFrameReader();
    const got: Uint8Array[] = [];
    for (let at = 0; at < stream.length;) {
      const n = trial === 0 ? 1 : randomInt(1, 700);
      const out = r.push(stream.subarray(at, at + n));
      assert.ok(out !== null);
      got.push(...out);
      at += n;
    }
    assert.deepEqual(
      got.map((g) => Buffer.from(g)),
      frames.map((f) => Buffer.from(f)),
    );
  }
  assert.equal(new TcpFrameReader().push(Uint8Array.of(0, 0)), null, 'zero length');
  const max = RELAY_HEADER_BYTES + NAT_LIMITS.relayPayloadBytes;
  assert.equal(max, 65535, 'the largest relay frame is the largest a u16 length prefix can give');
  assert.deepEqual(
    new TcpFrameReader().push(Uint8Array.of(max >> 8, max & 0xff)),
    [],
    'the largest frame waits for its bytes',
  );
  assert.equal(new TcpFrameReader(1000).push(Uint8Array.of(1001 >> 8, 1001 & 0xff)), null, 'one over maxFrame');
  assert.equal(new TcpFrameReader(10).push(Uint8Array.of(0, 11)), null, 'a smaller maxFrame');
  // Random streams: never a throw, and either frames or null.
  for (let i = 0; i < 2_000; i++) {
    const r = new TcpFrameReader();
    let out: Uint8Array[] | null = [];
    for (let k = 0; k < 5 && out !== null; k++) {
      assert.doesNotThrow(() => (out = r.push(randomBytes(randomInt(0, 3000)))));
    }
  }
});

test('discovery replies and pongs carry an IPv6 address in 16 bytes, told apart from IPv4 by length alone', () => {
  const n = randomBytes(16);
  const sig = randomBytes(64);
  const r4 = withSignature(discoveryReplyBody(n, v4b('192.0.2.7'), 51820), sig);
  const r6 = withSignature(discoveryReplyBody(n, V6, 51820), sig);
  assert.deepEqual([r4.length, r6.length], [91, 103]);
  assert.deepEqual([...parseDiscoveryReply(r6)!.addr], [...V6]);
  assert.equal(parseDiscoveryReply(r6)?.port, 51820);
  assert.deepEqual([...parseDiscoveryReply(r4)!.addr], [192, 0, 2, 7]);
  // Every length other than 91 and 103 is refused (the address is 4 or 16 bytes, nothing between).
  for (let len = 80; len <= 110; len++) {
    const b = Buffer.alloc(len, 1);
    Buffer.from(r4).copy(b, 0, 0, 21);
    assert.equal(parseDiscoveryReply(b) !== null, len === 91 || len === 103, `reply of ${len} bytes`);
  }
  // Still smaller than the smallest request (111 bytes): the coordinator's port cannot amplify.
  assert.ok(r6.length < 111);

  const id = randomBytes(8);
  const txid = randomBytes(12);
  const p6 = withMac(discoBody('pong', id, txid, { addr: V6, port: 9 }), randomBytes(16));
  const p4 = withMac(discoBody('pong', id, txid, { addr: v4b('198.51.100.1'), port: 9 }), randomBytes(16));
  assert.deepEqual([p4.length, p6.length], [47, 59]);
  assert.deepEqual([...parseDisco(p6)!.seen!.addr], [...V6]);
  assert.deepEqual([...parseDisco(p4)!.seen!.addr], [198, 51, 100, 1]);
  for (let len = 35; len <= 70; len++) {
    const b = Buffer.alloc(len, 3);
    Buffer.from(p6).copy(b, 0, 0, 25);
    assert.equal(parseDisco(b) !== null, len === 47 || len === 59, `pong of ${len} bytes`);
  }
  // A ping stays exactly 41 bytes: no address, no variants.
  const ping = withMac(discoBody('ping', id, txid), randomBytes(16));
  assert.equal(parseDisco(Buffer.concat([Buffer.from(ping), Buffer.alloc(12)])), null);
});
