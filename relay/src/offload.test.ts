// The relay's UDP socket with the kernel's offloads (udp(7) UDP_SEGMENT, UDP_GRO): a helper
// sends its relay frames as one GSO buffer, the relay receives it coalesced, checks and
// rewrites every frame on its own, and sends each destination's run on as one GSO buffer.
// Loopback coalesces a buffer for a GRO socket only when its sender used GSO, so the
// `coalesced` counters of the relay's reader and of the receiving client's show which way the
// datagrams went; the payloads show that nothing was merged, reordered or misdelivered.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { NatKind } from '../../src-shared/wire/nat-wire.js';
import { parseRelayRegistered } from '../../src-shared/wire/nat-relay.js';
import * as native from '../../src-shared/lib/native/index.js';
import { copyBatch, LOOPBACK, waitFor } from '../../src-shared/lib/native/testing.js';
import { RELAY_GSO_ENV } from '../../src-shared/lib/native/udp-socket.js';
import { startRelay, type RunningRelay } from './sockets.js';
import {
  recvOf,
  registerMessage,
  sendMessage,
  testCoordinator,
  testLog,
  testSystem,
  type TestSystem,
} from './test-support.js';

const coord = testCoordinator();

/** Client is a helper's WireGuard socket as far as the relay sees it: native, GSO out, GRO in. */
class Client {
  readonly got: Buffer[] = [];
  private readonly h = native.udpOpen('127.0.0.1', 0);
  private readonly reader = native.startReader(
    this.h.fd,
    'udp',
    { maxBatch: 64, slotSize: 2048, headroom: 0, pool: 4, gro: true },
    (b) => {
      for (const r of copyBatch(b)) this.got.push(r.data);
    },
  );
  constructor(
    readonly system: TestSystem,
    private readonly relayPort: number,
  ) {}

  async register(): Promise<void> {
    const m = registerMessage(this.system);
    assert.ok(native.udpSend(this.h.fd, m, 0, m.length, LOOPBACK, 0, this.relayPort));
    await waitFor(() => this.got.some((m) => m[3] === NatKind.relayRegistered), 3000, 'registered');
    assert.ok(parseRelayRegistered(this.got.find((m) => m[3] === NatKind.relayRegistered)!));
    this.got.length = 0;
  }

  /** burst sends frames in one udpSendBatch with GSO allowed; all are the same size, so the
   * kernel sends them as one buffer. */
  burst(frames: Buffer[]): void {
    const n = frames.length;
    const buf = Buffer.alloc(n * 2048);
    const offsets = new Uint32Array(n);
    const lengths = new Uint32Array(n);
    const words = new Uint32Array(4 * n);
    const ports = new Uint16Array(n);
    frames.forEach((f, i) => {
      offsets[i] = i * 2048;
      lengths[i] = f.length;
      f.copy(buf, offsets[i]);
      words.set(LOOPBACK, 4 * i);
      ports[i] = this.relayPort;
    });
    const gso = new Uint8Array([1]);
    assert.equal(native.udpSendBatch(this.h.fd, buf, offsets, lengths, words, ports, n, null, gso), n);
    assert.equal(gso[0], 1, 'loopback takes GSO');
  }

  get coalesced(): number {
    return this.reader.stats().coalesced ?? 0;
  }

  close(): void {
    this.reader.stop();
    native.closeFd(this.h.fd);
  }
}

/** payload i of a burst: recognisable, all of one size. */
function payload(i: number): Buffer {
  const p = randomBytes(1200);
  p.writeUInt16BE(i, 0);
  return p;
}

async function withRelay(
  names: string[],
  run: (r: RunningRelay, c: Client[]) => Promise<void>,
  gso?: string,
): Promise<void> {
  // The relay reads RELAY_GSO_ENV when its socket opens; undefined: unset, the default.
  const was = process.env[RELAY_GSO_ENV];
  if (gso === undefined) delete process.env[RELAY_GSO_ENV];
  else process.env[RELAY_GSO_ENV] = gso;
  const r = await startRelay({
    coordinatorKey: coord.publicKey,
    relayKey: coord.relayKey,
    log: testLog().log,
    udp: '127.0.0.1:0',
  });
  if (was === undefined) delete process.env[RELAY_GSO_ENV];
  else process.env[RELAY_GSO_ENV] = was;
  const clients = names.map((n) => new Client(testSystem(coord, n), r.udpPort!));
  try {
    for (const c of clients) await c.register();
    await run(r, clients);
  } finally {
    for (const c of clients) c.close();
    await r.close();
  }
}

test('a GSO burst of 40 frames reaches its peer through the relay intact, in order, coalesced both ways', async () => {
  await withRelay(['a', 'b'], async (r, [a, b]) => {
    const sent = Array.from({ length: 40 }, (_, i) => payload(i));
    a!.burst(sent.map((p) => sendMessage(b!.system.id, p)));
    await waitFor(() => b!.got.length >= sent.length, 3000, '40 relayed frames');
    const got = b!.got.map(recvOf);
    assert.deepEqual(
      got.map((g) => g?.payload),
      sent,
    );
    assert.ok(got.every((g) => g?.from === a!.system.id.toString('hex')));
    const off = r.udpOffloads();
    assert.ok(off?.udpGro && off.coalesced > 0, `the relay received the burst coalesced: ${JSON.stringify(off)}`);
    assert.ok(off.udpGso, 'the relay sends with GSO by default');
    assert.ok(b!.coalesced > 0, 'the relay sent the run on as one GSO buffer');
    assert.equal(r.relay.stats().forwarded, 40);
    assert.deepEqual(r.relay.stats().dropped, {});
  });
});

test('one coalesced burst for two peers is split per frame: each gets its own frames, in order', async () => {
  await withRelay(['a', 'b', 'c'], async (r, [a, b, c]) => {
    const sent = Array.from({ length: 40 }, (_, i) => payload(i));
    // Alternating destinations in one GSO buffer: the frames look alike to the kernel.
    a!.burst(sent.map((p, i) => sendMessage((i % 2 === 0 ? b! : c!).system.id, p)));
    await waitFor(() => b!.got.length + c!.got.length >= sent.length, 3000, '40 relayed frames');
    assert.deepEqual(
      b!.got.map((m) => recvOf(m)?.payload),
      sent.filter((_, i) => i % 2 === 0),
    );
    assert.deepEqual(
      c!.got.map((m) => recvOf(m)?.payload),
      sent.filter((_, i) => i % 2 === 1),
    );
    assert.ok((r.udpOffloads()?.coalesced ?? 0) > 0, 'the burst arrived coalesced');
    assert.equal(r.relay.stats().forwarded, 40);
  });
});

test('a coalesced burst from an unregistered address is dropped frame by frame, none forwarded', async () => {
  await withRelay(['b'], async (r, [b]) => {
    const stranger = new Client(testSystem(coord, 'stranger'), r.udpPort!);
    try {
      stranger.burst(Array.from({ length: 30 }, (_, i) => sendMessage(b!.system.id, payload(i))));
      await waitFor(() => (r.relay.stats().dropped['unknown-source'] ?? 0) >= 30, 3000, '30 drops');
      assert.equal(r.relay.stats().forwarded, 0);
      assert.equal(b!.got.length, 0);
    } finally {
      stranger.close();
    }
  });
});

test('with WARREN_RELAY_GSO=off the relay receives coalesced but sends plain datagrams', async () => {
  await withRelay(
    ['a', 'b'],
    async (r, [a, b]) => {
      const sent = Array.from({ length: 40 }, (_, i) => payload(i));
      a!.burst(sent.map((p) => sendMessage(b!.system.id, p)));
      await waitFor(() => b!.got.length >= sent.length, 3000, '40 relayed frames');
      assert.deepEqual(
        b!.got.map((m) => recvOf(m)?.payload),
        sent,
      );
      const off = r.udpOffloads();
      assert.ok(off?.udpGro && off.coalesced > 0, 'received coalesced');
      assert.equal(off.udpGso, false);
      assert.equal(b!.coalesced, 0, 'sent on as plain datagrams');
    },
    'off',
  );
});
