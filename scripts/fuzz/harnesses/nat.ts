// The NAT traversal wire format (src-shared/wire/nat-*.ts): discovery, disco, relay messages and
// tokens, and the TCP framing. Only parsing and encoding: signatures and MACs are the callers'.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { guard } from '../guard.js';
import { hashSeed, Rng } from '../rng.js';
import {
  NAT_LIMITS,
  NAT_MAGIC,
  NatKind,
  natKind,
  withMac as withNatMac,
  withSignature,
} from '../../../src-shared/wire/nat-wire.js';
import {
  discoveryReplyBody,
  discoveryRequestBody,
  parseDiscoveryReply,
  parseDiscoveryRequest,
} from '../../../src-shared/wire/nat-discovery.js';
import { discoBody, parseDisco, withMac } from '../../../src-shared/wire/nat-disco.js';
import {
  parseRelayFrame,
  parseRelayRefused,
  parseRelayRegister,
  parseRelayRegistered,
  parseRelayToken,
  relayFrame,
  relayRefused,
  relayRegistered,
  relayRegisterBody,
  relayTokenBody,
} from '../../../src-shared/wire/nat-relay.js';
import { TCP_FRAME_PREFIX, TcpFrameReader, tcpFrame } from '../../../src-shared/wire/nat-tcp.js';

type Parsed<F extends (b: Uint8Array) => unknown> = NonNullable<ReturnType<F>>;

/** CODECS pairs each parser with the builders that write what it read. */
const CODECS: Array<{
  name: string;
  kind: number | null;
  parse(b: Uint8Array): unknown;
  encode(v: never): Uint8Array;
}> = [
  {
    name: 'discovery-request',
    kind: NatKind.discoveryRequest,
    parse: parseDiscoveryRequest,
    encode: (v: Parsed<typeof parseDiscoveryRequest>) =>
      withSignature(withNatMac(discoveryRequestBody(v.systemId, v.ts, v.nonce), v.mac), v.signature),
  },
  {
    name: 'discovery-reply',
    kind: NatKind.discoveryReply,
    parse: parseDiscoveryReply,
    encode: (v: Parsed<typeof parseDiscoveryReply>) =>
      withSignature(discoveryReplyBody(v.nonce, v.addr, v.port), v.signature),
  },
  {
    name: 'disco',
    kind: null,
    parse: parseDisco,
    encode: (v: Parsed<typeof parseDisco>) =>
      withMac(discoBody(v.kind, v.senderId, v.txid, v.seen ?? undefined), v.mac),
  },
  {
    name: 'relay-token',
    kind: null,
    parse: parseRelayToken,
    encode: (v: Parsed<typeof parseRelayToken>) =>
      withNatMac(
        withSignature(relayTokenBody(v.systemId, v.wireguardKey, v.machineKey, v.expires), v.signature),
        v.mac,
      ),
  },
  {
    name: 'relay-register',
    kind: NatKind.relayRegister,
    parse: parseRelayRegister,
    encode: (v: Parsed<typeof parseRelayRegister>) =>
      withSignature(relayRegisterBody(v.token, v.ts, v.nonce), v.signature),
  },
  {
    name: 'relay-registered',
    kind: NatKind.relayRegistered,
    parse: parseRelayRegistered,
    encode: (v: Parsed<typeof parseRelayRegistered>) => relayRegistered(v.nonce, v.refreshSeconds),
  },
  {
    name: 'relay-refused',
    kind: NatKind.relayRefused,
    parse: parseRelayRefused,
    encode: (v: Parsed<typeof parseRelayRefused>) => relayRefused(v.nonce, v.reason),
  },
];

function seeds(): Buffer[] {
  const r = new Rng(7);
  const sig = r.bytes(64);
  const nonce = r.bytes(16);
  // Discovery requests and relay tokens carry the relay's MAC: under the signature in a request,
  // after it in a token (nat-discovery.ts, nat-relay.ts).
  const mac = r.bytes(16);
  const body = relayTokenBody('G982V', r.bytes(32), r.bytes(32), 1_900_000_000_000);
  const token = withNatMac(withSignature(body, sig), mac);
  const out: Uint8Array[] = [
    withSignature(withNatMac(discoveryRequestBody('host_1.example:2-b', 1_700_000_000_000, nonce), mac), sig),
    withSignature(withNatMac(discoveryRequestBody('x'.repeat(64), Number.MAX_SAFE_INTEGER, nonce), mac), sig),
    withSignature(discoveryReplyBody(nonce, Uint8Array.of(203, 0, 113, 7), 41641), sig),
    withSignature(discoveryReplyBody(nonce, r.bytes(16), 41641), sig),
    withMac(discoBody('ping', r.bytes(8), r.bytes(12)), r.bytes(16)),
    withMac(
      discoBody('pong', r.bytes(8), r.bytes(12), { addr: Uint8Array.of(198, 51, 100, 2), port: 3478 }),
      r.bytes(16),
    ),
    withMac(discoBody('pong', r.bytes(8), r.bytes(12), { addr: r.bytes(16), port: 3478 }), r.bytes(16)),
    token,
    withSignature(relayRegisterBody(token, 1_700_000_000_000, nonce), sig),
    withSignature(relayRegisterBody(r.bytes(NAT_LIMITS.relayTokenBytes), 1, nonce), sig),
    relayRegistered(nonce, 25),
    relayRefused(nonce, 'token expired'),
    relayFrame(NatKind.relaySend, r.bytes(8), r.bytes(148)),
    relayFrame(NatKind.relayRecv, r.bytes(8), r.bytes(32)),
  ];
  // A TCP stream of two frames, for the frame reader.
  out.push(Buffer.concat([tcpFrame(out[6]!), tcpFrame(out[10]!)]));
  return out.map((b) => Buffer.from(b));
}

// codecs runs every parser on the input, guarded, and checks what each accepted re-encodes.
function codecs(input: Buffer, out: string[]): void {
  for (const c of CODECS) {
    const g = guard(input);
    const v = c.parse(g.view);
    assert.equal(g.pastEnd(), null, `${c.name} read past the end: ${g.pastEnd()}`);
    if (v === null) continue;
    out.push(c.name);
    if (c.kind !== null) assert.equal(natKind(input), c.kind, `${c.name} accepted another kind`);
    if (c.name === 'relay-refused') {
      // The parser reads a reason up to 255 bytes and shows bytes outside ASCII as '?'; the
      // builder writes at most 120 printable characters. Only those re-encode exactly.
      const reason = (v as { reason: string }).reason;
      assert.match(reason, /^[\x20-\x7e]*$/);
      const raw = input.subarray(22).toString('latin1');
      if (reason.length > NAT_LIMITS.refusalReasonChars || raw !== reason) continue;
    }
    assert.ok(
      Buffer.from(c.encode(v as never)).equals(input),
      `${c.name}: accepted input does not re-encode to itself`,
    );
  }
}

// relayFrames checks parseRelayFrame on the input alone and inside a larger buffer: the same
// answer both ways, so the frame's own bounds (off, len) are all it reads.
function relayFrames(input: Buffer, out: string[]): void {
  const g = guard(input);
  const alone = parseRelayFrame(g.view);
  assert.equal(g.pastEnd(), null, `parseRelayFrame read past the end: ${g.pastEnd()}`);
  const pad = Buffer.alloc(7, NAT_MAGIC[0]);
  const big = Buffer.concat([pad, input, Buffer.from(NAT_MAGIC), Buffer.alloc(64, 0x24)]);
  const inside = parseRelayFrame(big, pad.length, input.length);
  assert.equal(inside === null, alone === null, 'parseRelayFrame answers differently inside a larger buffer');
  assert.equal(natKind(big, pad.length, input.length), natKind(input), 'natKind answers differently inside a buffer');
  if (alone === null || inside === null) return;
  out.push(`frame-${alone.kind}`);
  assert.equal(inside.payloadOffset - pad.length, alone.payloadOffset);
  assert.equal(inside.payloadLength, alone.payloadLength);
  assert.ok(alone.payloadLength >= 1 && alone.payloadLength <= NAT_LIMITS.relayPayloadBytes);
  const payload = input.subarray(alone.payloadOffset, alone.payloadOffset + alone.payloadLength);
  const kind = alone.kind === 'send' ? NatKind.relaySend : NatKind.relayRecv;
  assert.ok(Buffer.from(relayFrame(kind, alone.id, payload)).equals(input), 'relay frame does not re-encode');
}

// tcpStream feeds the input to a TcpFrameReader in pieces cut by a generator seeded from the
// input, and compares with one walk over the whole stream.
function tcpStream(input: Buffer, out: string[]): void {
  const reader = new TcpFrameReader();
  const max = (reader as unknown as { maxFrame: number }).maxFrame;
  const want: Buffer[] = [];
  let bad = false;
  for (let at = 0; input.length - at >= TCP_FRAME_PREFIX;) {
    const n = input.readUInt16BE(at);
    if (n === 0 || n > max) {
      bad = true;
      break;
    }
    if (input.length - at - TCP_FRAME_PREFIX < n) break;
    want.push(input.subarray(at + TCP_FRAME_PREFIX, at + TCP_FRAME_PREFIX + n));
    at += TCP_FRAME_PREFIX + n;
  }
  const rng = new Rng(hashSeed(input));
  const got: Uint8Array[] = [];
  let refused = false;
  for (let at = 0; at < input.length && !refused;) {
    const n = 1 + rng.below(rng.chance(2) ? 3 : input.length);
    const frames = reader.push(input.subarray(at, at + n));
    at += n;
    if (frames === null) refused = true;
    else got.push(...frames);
  }
  assert.equal(refused, bad, bad ? 'a bad length prefix was not refused' : 'a good stream was refused');
  // Frames completed in the push that met the bad prefix are dropped with the stream.
  assert.ok(got.length <= want.length && (bad || got.length === want.length), 'frames lost or invented');
  got.forEach((f, i) => assert.ok(Buffer.from(f).equals(want[i]!), `frame ${i} differs`));
  for (const f of got) assert.ok(f.length >= 1 && f.length <= max);
  out.push(bad ? 'tcp-refused' : `tcp-frames-${Math.min(want.length, 4)}`);
}

export const natWire: HarnessSpec = {
  name: 'nat-wire',
  properties: [
    'every parser returns its message or null and never throws',
    'no parser reads past its input; a relay frame parses the same inside a larger buffer',
    "whatever a parser accepts re-encodes to exactly the input with the module's builders",
    'the TCP frame reader gives the frames of one walk over the stream however it is cut, refuses a bad length prefix and never yields a frame over its bound',
  ],
  testIterations: 6000,
  create() {
    return {
      seeds: seeds(),
      dictionary: [Buffer.from(NAT_MAGIC), Buffer.from([...NAT_MAGIC, NatKind.relaySend]), Buffer.from([1])],
      maxLen: 4096,
      run(input) {
        const out: string[] = [];
        codecs(input, out);
        relayFrames(input, out);
        tcpStream(input, out);
        const k = natKind(input);
        return [`kind:${k === null ? 'none' : k}`, ...out];
      },
    };
  },
};
