// Test helpers for the noise core: two cores that know each other, a simulated clock that
// drives both `now` and the wall clock, and a minimal in-memory "device" that delivers
// datagrams. Used only by the *.test.ts files beside it.
import { NoiseCore, type Admit, type ControlResult } from './core.js';
import { generatePrivateKey } from '../../../../src-shared/lib/keys.js';
import type { Keypair } from './keypair.js';
import type { NoisePeer } from './peer.js';
import { openTransport, sealTransport } from './transport.js';
import type { DropReason, Endpoint } from './types.js';

/** WALL_EPOCH_MS is the simulated wall-clock time at now = 0 (November 2023). */
export const WALL_EPOCH_MS = 1_700_000_000_000;

/** Side is one core and its peer entry for the other side. */
export interface Side {
  core: NoiseCore;
  peer: NoisePeer;
  addr: Endpoint;
  privateKey: Buffer;
}

/** Pair is two sides sharing one simulated clock. */
export interface Pair {
  a: Side;
  b: Side;
  clock: { now: number };
}

export interface PairOptions {
  pskA?: Buffer;
  pskB?: Buffer;
  underLoadA?: () => boolean;
  underLoadB?: () => boolean;
  /** admitB replaces underLoadB with the device's admission hook (core.ts Admit). */
  admitB?: Admit;
  keepaliveA?: number;
  keepaliveB?: number;
}

/** makeCore builds a core whose wall clock follows `clock.now`. */
export function makeCore(
  privateKey: Buffer,
  clock: { now: number },
  isUnderLoad?: () => boolean,
  admit?: Admit,
): NoiseCore {
  return new NoiseCore({
    privateKey,
    wallClockNs: () => BigInt(WALL_EPOCH_MS + Math.floor(clock.now)) * 1_000_000n,
    isUnderLoad,
    admit,
  });
}

/** makePair builds two cores configured as each other's peer. */
export function makePair(opts: PairOptions = {}): Pair {
  const clock = { now: 0 };
  const ka = generatePrivateKey();
  const kb = generatePrivateKey();
  const ca = makeCore(ka, clock, opts.underLoadA);
  const cb = makeCore(kb, clock, opts.underLoadB, opts.admitB);
  const pa = ca.addPeer(cb.publicKey, { presharedKey: opts.pskA, persistentKeepalive: opts.keepaliveA });
  const pb = cb.addPeer(ca.publicKey, { presharedKey: opts.pskB, persistentKeepalive: opts.keepaliveB });
  return {
    clock,
    a: { core: ca, peer: pa, addr: { ip: '192.0.2.1', port: 51820 }, privateKey: ka },
    b: { core: cb, peer: pb, addr: { ip: '192.0.2.2', port: 51820 }, privateKey: kb },
  };
}

/** control delivers a handshake/cookie message from `from` to `to`. */
export function control(to: Side, from: Side, msg: Buffer, now: number): ControlResult {
  return to.core.receiveControl(msg, from.addr, now);
}

/** handshake runs initiation and response from `init` to `resp` at `now` and returns the
 * results; it does not confirm the responder's session (see confirm). */
export function handshake(init: Side, resp: Side, now: number): { request: ControlResult; response: ControlResult } {
  const msg = init.peer.initiate(now);
  if (!msg) throw new Error('initiate returned null');
  const request = control(resp, init, msg, now);
  if (!request.reply) throw new Error(`initiation dropped: ${request.drop}`);
  const response = control(init, resp, request.reply, now);
  if (response.drop) throw new Error(`response dropped: ${response.drop}`);
  return { request, response };
}

/** Delivered is the outcome of a transport message at the receiver. */
export type Delivered = { peer: NoisePeer; keypair: Keypair; plaintext: Buffer } | { drop: DropReason };

/** sendData seals `payload` from `from` to `to` as a device would: pick the send keypair,
 * seal, tell the sender's timers, open at the receiver and tell the receiver's timers. */
export function sendData(from: Side, to: Side, payload: Buffer, now: number): Delivered {
  const kp = from.peer.sendKeypair(now);
  if (!kp) throw new Error('no send keypair');
  const msg = sealTransport(kp, payload);
  from.peer.sentData(now, 1, payload.length === 0);
  return deliverTransport(to, msg, now);
}

/** deliverTransport opens a type-4 message at `to` and records it like the device would. */
export function deliverTransport(to: Side, msg: Buffer, now: number): Delivered {
  const r = openTransport(to.core, msg, now);
  if (!('drop' in r)) to.core.receivedData(r.peer, r.keypair, now, r.plaintext.length === 0);
  return r;
}

/** established returns a pair that completed a handshake (a initiated at `now`) and whose
 * responder session was confirmed by one keepalive from a. */
export function established(opts: PairOptions = {}, now = 0): Pair {
  const p = makePair(opts);
  p.clock.now = now;
  handshake(p.a, p.b, now);
  const r = sendData(p.a, p.b, Buffer.alloc(0), now);
  if ('drop' in r) throw new Error(`confirmation dropped: ${r.drop}`);
  return p;
}
