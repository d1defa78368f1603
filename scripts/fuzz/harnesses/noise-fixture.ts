// Two noise cores that know each other, built from a fixed seed so the fuzzer's runs repeat:
// keys, indices, ephemerals and cookie secrets all come from seeded generators, and both wall
// clocks follow one simulated clock. After the handshake every message type has been seen once,
// so each authentic message the fixture keeps (seeds) is already a replay.
import { NoiseCore } from '../../../helper/src/wireguard/noise/core.js';
import { REKEY_TIMEOUT } from '../../../helper/src/wireguard/noise/constants.js';
import { sealTransport } from '../../../helper/src/wireguard/noise/transport.js';
import { control, deliverTransport, WALL_EPOCH_MS, type Side } from '../../../helper/src/wireguard/noise/testkit.js';
import { Rng } from '../rng.js';

/** NoiseFixture is an established pair and the authentic messages it exchanged. */
export interface NoiseFixture {
  a: Side;
  b: Side;
  clock: { now: number };
  /** load makes both cores demand cookies (mac2) while true. */
  load: { on: boolean };
  /** messages are every authentic datagram of the handshake, keyed by what they are. */
  messages: {
    initiation: Buffer;
    response: Buffer;
    cookieReply: Buffer;
    data: Buffer;
    keepalive: Buffer;
    reverseData: Buffer;
  };
}

function side(rng: Rng, clock: { now: number }, load: { on: boolean }, ip: string): Omit<Side, 'peer'> {
  const privateKey = rng.bytes(32);
  const random = (n: number): Buffer => rng.bytes(n);
  const core = new NoiseCore({
    privateKey,
    random,
    wallClockNs: () => BigInt(WALL_EPOCH_MS + Math.floor(clock.now)) * 1_000_000n,
    isUnderLoad: () => load.on,
  });
  return { core, privateKey, addr: { ip, port: 51820 } };
}

/** noiseFixture builds the pair; the same seed gives the same keys and messages. */
export function noiseFixture(seed = 1): NoiseFixture {
  const rng = new Rng(seed);
  const clock = { now: REKEY_TIMEOUT };
  const load = { on: false };
  const sa = side(rng, clock, load, '192.0.2.1');
  const sb = side(rng, clock, load, '192.0.2.2');
  const a: Side = { ...sa, peer: sa.core.addPeer(sb.core.publicKey) };
  const b: Side = { ...sb, peer: sb.core.addPeer(sa.core.publicKey) };
  const fail = (what: string): never => {
    throw new Error(`noise fixture: ${what}`);
  };

  const initiation = a.peer.initiate(clock.now) ?? fail('no initiation');
  const response = control(b, a, initiation, clock.now).reply ?? fail('initiation refused');
  if (control(a, b, response, clock.now).drop !== null) fail('response refused');
  const data = sealTransport(a.peer.sendKeypair(clock.now) ?? fail('no session'), Buffer.from('fuzz seed payload'));
  if ('drop' in deliverTransport(b, data, clock.now)) fail('data refused');
  const keepalive = sealTransport(a.peer.sendKeypair(clock.now)!, Buffer.alloc(0));
  if ('drop' in deliverTransport(b, keepalive, clock.now)) fail('keepalive refused');
  const reverseData = sealTransport(b.peer.sendKeypair(clock.now) ?? fail('no reverse session'), Buffer.alloc(32));
  if ('drop' in deliverTransport(a, reverseData, clock.now)) fail('reverse data refused');
  // A second initiation under load draws a cookie reply; a takes its cookie.
  load.on = true;
  const second = a.peer.initiate(clock.now + REKEY_TIMEOUT) ?? fail('no second initiation');
  const cookieReply = control(b, a, second, clock.now).reply ?? fail('no cookie reply');
  load.on = false;
  if (control(a, b, cookieReply, clock.now).drop !== null) fail('cookie reply refused');
  return { a, b, clock, load, messages: { initiation, response, cookieReply, data, keepalive, reverseData } };
}
