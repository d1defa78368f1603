// WireGuard messages (helper/src/wireguard/noise/messages.ts) and the noise core's consume paths
// (core.ts receiveControl, transport.ts openTransport): whitepaper §5.4.
import assert from 'node:assert/strict';
import { KeyObject } from 'node:crypto';
import type { HarnessSpec } from '../engine.js';
import { guard } from '../guard.js';
import {
  MessageType,
  messageType,
  parseCookieReply,
  parseInitiation,
  parseResponse,
  parseTransportHeader,
  writeCookieReply,
  writeInitiation,
  writeResponse,
  writeTransportHeader,
} from '../../../helper/src/wireguard/noise/messages.js';
import { openTransport } from '../../../helper/src/wireguard/noise/transport.js';
import { DROP_REASONS, type DropReason } from '../../../helper/src/wireguard/noise/types.js';
import { control, type Side } from '../../../helper/src/wireguard/noise/testkit.js';
import { noiseFixture, type NoiseFixture } from './noise-fixture.js';

const REASONS: ReadonlySet<string> = new Set<string>(DROP_REASONS);

function seedMessages(f: NoiseFixture): Buffer[] {
  return Object.values(f.messages);
}

// rebuilt checks that writing a parsed message's fields back gives the input (macs copied).
function rebuilt(input: Buffer): void {
  const init = parseInitiation(input);
  if (typeof init === 'object') {
    const out = writeInitiation(init.sender, init.ephemeral, init.encryptedStatic, init.encryptedTimestamp);
    input.copy(out, 116, 116);
    assert.ok(out.equals(input), 'an initiation rewritten from its fields differs');
  }
  const resp = parseResponse(input);
  if (typeof resp === 'object') {
    const out = writeResponse(resp.sender, resp.receiver, resp.ephemeral, resp.encryptedNothing);
    input.copy(out, 60, 60);
    assert.ok(out.equals(input), 'a response rewritten from its fields differs');
  }
  const cookie = parseCookieReply(input);
  if (typeof cookie === 'object') {
    const out = writeCookieReply(cookie.receiver, cookie.nonce, cookie.encryptedCookie);
    assert.ok(out.equals(input), 'a cookie reply rewritten from its fields differs');
  }
  const t = parseTransportHeader(input);
  if (typeof t === 'object') {
    const out = Buffer.alloc(16);
    writeTransportHeader(out, t.receiver, t.counter);
    assert.ok(Buffer.concat([out, t.sealed]).equals(input), 'a transport message rewritten from its header differs');
  }
}

export const wgMessages: HarnessSpec = {
  name: 'wg-messages',
  properties: [
    'each parser returns a view or a known drop reason and never throws',
    'no parser reads past the datagram',
    'a parsed message written back from its fields equals the input',
    'messageType agrees with the parser that accepts the datagram',
  ],
  testIterations: 3000,
  create() {
    const f = noiseFixture();
    const parsers = [
      [MessageType.Initiation, parseInitiation],
      [MessageType.Response, parseResponse],
      [MessageType.CookieReply, parseCookieReply],
      [MessageType.Transport, parseTransportHeader],
    ] as const;
    return {
      seeds: seedMessages(f),
      maxLen: 2048,
      run(input) {
        const out: string[] = [];
        for (const [type, parse] of parsers) {
          const g = guard(input);
          const r = parse(g.view);
          const past = g.pastEnd();
          assert.equal(past, null, `type ${type} parser read past the end: ${past}`);
          if (typeof r === 'string') {
            assert.ok(REASONS.has(r), `unknown drop reason ${r}`);
            out.push(`${type}:${r}`);
          } else {
            assert.equal(messageType(input), type, 'messageType disagrees with the parser');
            out.push(`${type}:ok`);
          }
        }
        rebuilt(input);
        return out.join(' ');
      },
    };
  },
};

// fingerprint writes a peer's protocol state as text: handshake, keypairs with their replay
// windows, timers, cookie state and the last handshake time. Key objects (ephemerals) are
// named by identity, since they cannot be read.
function fingerprint(v: unknown, ids: Map<object, number>, seen = new Set<object>()): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (v === null || typeof v !== 'object') return typeof v === 'function' ? 'fn' : (JSON.stringify(v) ?? 'undefined');
  if (v instanceof Uint8Array || v instanceof Uint32Array)
    return Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('hex');
  if (v instanceof KeyObject) {
    if (!ids.has(v)) ids.set(v, ids.size + 1);
    return `key#${ids.get(v)}`;
  }
  if (seen.has(v)) return 'cycle';
  seen.add(v);
  const o = v as Record<string, unknown>;
  return `{${Object.keys(o)
    .filter((k) => k !== 'ctx')
    .sort()
    .map((k) => `${k}=${fingerprint(o[k], ids, seen)}`)
    .join(',')}}`;
}

function coreState(s: Side, ids: Map<object, number>): string {
  const indices = [...(s.core as unknown as { indices: Map<number, unknown> }).indices.keys()].sort();
  return `${indices.join(',')}|${s.core
    .listPeers()
    .map((p) => fingerprint(p, ids))
    .join('|')}`;
}

export const noiseCore: HarnessSpec = {
  name: 'noise-core',
  properties: [
    'receiveControl and openTransport return a known drop reason for any datagram and never throw',
    "a dropped datagram changes no peer's state (handshake, keypairs, replay windows, timers, cookies) and no index",
    'only authentic datagrams are accepted: any accepted input is byte for byte one the fixture exchanged',
    'under load a datagram without a valid mac2 gets a 64-byte cookie reply and nothing else',
  ],
  // Every input that passes mac1 costs an X25519 operation or two.
  testIterations: 1500,
  create() {
    let f = noiseFixture();
    const authentic = seedMessages(f);
    // Key objects are named in the order first seen; the map is emptied with each new fixture.
    const ids = new Map<object, number>();
    return {
      // The first byte picks the receiving side (bit 0) and whether it is under load (bit 1).
      seeds: authentic.flatMap((m) => [0, 1, 2, 3].map((mode) => Buffer.concat([Buffer.from([mode]), m]))),
      dictionary: [
        Buffer.from([1, 0, 0, 0]),
        Buffer.from([2, 0, 0, 0]),
        Buffer.from([3, 0, 0, 0]),
        Buffer.from([4, 0, 0, 0]),
      ],
      maxLen: 1600,
      run(input) {
        if (input.length === 0) return 'empty';
        const [to, from] = input[0]! & 1 ? [f.b, f.a] : [f.a, f.b];
        const msg = input.subarray(1);
        f.load.on = (input[0]! & 2) !== 0;
        const before = [coreState(f.a, ids), coreState(f.b, ids)];
        let drop: DropReason | null;
        let reply: Buffer | null = null;
        try {
          if (messageType(msg) === MessageType.Transport) {
            const r = openTransport(to.core, msg, f.clock.now);
            drop = 'drop' in r ? r.drop : null;
          } else {
            const r = control(to, from, msg, f.clock.now);
            drop = r.drop;
            reply = r.reply;
          }
        } finally {
          f.load.on = false;
        }
        if (drop === null) {
          assert.ok(
            authentic.some((m) => m.equals(msg)),
            `accepted a datagram that was never sent: ${msg.toString('hex')}`,
          );
          // What an authentic message changes is allowed; start again from the same state.
          f = noiseFixture();
          ids.clear();
          return `accepted:${messageType(msg)}`;
        }
        assert.ok(REASONS.has(drop), `unknown drop reason ${drop}`);
        if (drop === 'bad-mac2-cookie-sent') {
          assert.ok(reply !== null && reply.length === 64 && messageType(reply) === MessageType.CookieReply);
        } else {
          assert.equal(reply, null, `a ${drop} drop came with a reply`);
        }
        assert.equal(coreState(f.a, ids), before[0], `a ${drop} drop changed side a's state`);
        assert.equal(coreState(f.b, ids), before[1], `a ${drop} drop changed side b's state`);
        return `${input[0]! & 3}:${messageType(msg)}:${drop}`;
      },
    };
  },
};
