// A real TUN device in the root namespace (needs root and /dev/net/tun): packets the kernel
// routes into it reach the reader (in both modes), packets written with tunWriteBatch reach a
// local socket, oversize packets are counted, and deleting the device is reported through
// onError. Each test
// uses a random device name and a random /30 in 100.127.0.0/16, and deletes the device after.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type dgram from 'node:dgram';
import { once } from 'node:events';
import { startReader, tunOpen, tunWriteBatch } from './index.js';
import { copyBatch, MODES, sleep, waitFor, type Received } from './testing.js';
import { addrBytes, ip, localSocket, withTun } from './tun-testing.js';

/** isUdpTo tells whether p is an IPv4/UDP packet to dst:port (the kernel also emits IPv6 noise). */
function isUdpTo(p: Buffer, dst: string, port: number): boolean {
  return (
    p.length >= 28 &&
    p[0]! >> 4 === 4 &&
    p[9] === 17 &&
    p.subarray(16, 20).equals(addrBytes(dst)) &&
    p.readUInt16BE(22) === port
  );
}

/** ipv4Udp builds an IPv4/UDP packet with a valid header checksum (UDP checksum 0: none). */
function ipv4Udp(src: string, sport: number, dst: string, dport: number, payload: Buffer): Buffer {
  const p = Buffer.alloc(28 + payload.length);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64; // TTL
  p[9] = 17;
  addrBytes(src).copy(p, 12);
  addrBytes(dst).copy(p, 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += p.readUInt16BE(i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  p.writeUInt16BE(~sum & 0xffff, 10);
  p.writeUInt16BE(sport, 20);
  p.writeUInt16BE(dport, 22);
  p.writeUInt16BE(8 + payload.length, 24);
  payload.copy(p, 28);
  return p;
}

for (const mode of MODES)
  test(`${mode}: the reader delivers packets routed into the TUN, and tunWriteBatch injects packets back`, async (t) => {
    await withTun(t, async ({ tun, local, peer }) => {
      const got: Received[] = [];
      const reader = startReader(tun.fd, 'tun', { maxBatch: 32, slotSize: 1600, headroom: 16, pool: 4, mode }, (b) =>
        got.push(...copyBatch(b)),
      );
      const sock = await localSocket(local);
      try {
        const message = Buffer.from('warren tun test');
        sock.send(message, 9999, peer);
        await waitFor(() => got.some((g) => isUdpTo(g.data, peer, 9999)), 5000, 'the UDP packet on the TUN');
        const pkt = got.find((g) => isUdpTo(g.data, peer, 9999))!;
        assert.deepEqual(pkt.data.subarray(12, 16), addrBytes(local), 'source address');
        assert.deepEqual(pkt.data.subarray(28), message);
        assert.equal(pkt.offset % 1600, 16, 'packet starts after the headroom');

        // A packet that is not IP (version 0) is refused by the kernel and dropped; the next goes in.
        const reply = ipv4Udp(peer, 4242, local, sock.address().port, Buffer.from('reply via tun'));
        const buf = Buffer.alloc(4096);
        reply.copy(buf, 2000);
        const received = once(sock, 'message');
        assert.equal(tunWriteBatch(tun.fd, buf, Uint32Array.of(100, 2000), Uint32Array.of(40, reply.length), 2), 1);
        const [msg, rinfo] = (await received) as [Buffer, dgram.RemoteInfo];
        assert.equal(msg.toString(), 'reply via tun');
        assert.equal(rinfo.address, peer);
        assert.equal(rinfo.port, 4242);
        assert.throws(() => tunWriteBatch(tun.fd, buf, Uint32Array.of(4090), Uint32Array.of(7), 1), RangeError);
      } finally {
        reader.stop();
        sock.close();
      }
    });
  });

for (const mode of MODES)
  test(`${mode}: oversize packets are skipped and counted; a deleted device is reported once to onError`, async (t) => {
    await withTun(t, async ({ tun, peer, local }) => {
      const got: Received[] = [];
      const errors: NodeJS.ErrnoException[] = [];
      // 16 + 200 + 32: packets of at most 200 bytes fit.
      const reader = startReader(
        tun.fd,
        'tun',
        {
          maxBatch: 8,
          slotSize: 248,
          headroom: 16,
          pool: 2,
          mode,
          onError: (e) => errors.push(e),
        },
        (b) => got.push(...copyBatch(b)),
      );
      const sock = await localSocket(local);
      try {
        // UDP payloads of 172, 173 and 500 bytes make IP packets of 200, 201 and 528 bytes.
        for (const [size, port] of [
          [172, 1001],
          [173, 1002],
          [500, 1003],
          [20, 1004],
        ] as const) {
          sock.send(Buffer.alloc(size, port & 0xff), port, peer);
        }
        await waitFor(() => got.some((g) => isUdpTo(g.data, peer, 1004)), 5000, 'the last packet');
        const ports = got
          .filter((g) => isUdpTo(g.data, peer, g.data.readUInt16BE(22)))
          .map((g) => g.data.readUInt16BE(22));
        assert.deepEqual(ports, [1001, 1004], 'the 200-byte packet fits exactly, 201 and 528 do not');
        assert.equal(reader.stats().truncated, 2);

        ip('link', 'del', 'dev', tun.name);
        await waitFor(() => errors.length > 0, 5000, 'onError');
        await sleep(100);
        assert.equal(errors.length, 1);
        assert.equal(errors[0]!.code, 'EBADFD');
        assert.match(errors[0]!.message, new RegExp(`^read tun fd ${tun.fd}: File descriptor in bad state$`));
        assert.equal(reader.stats().errors, 1);
      } finally {
        reader.stop();
        sock.close();
      }
    });
  });

test('a second tunOpen of a device in use fails with EBUSY and a clear message', async (t) => {
  await withTun(t, async ({ tun }) => {
    assert.throws(
      () => tunOpen(tun.name),
      (e: NodeJS.ErrnoException) =>
        e.code === 'EBUSY' && e.message === `TUNSETIFF ${tun.name}: Device or resource busy`,
    );
  });
});

// The poller hands a lone packet on an idle adapter to JS straight after the read that found it,
// without the read that would say EAGAIN first (a system call on every tunnel hop's latency);
// packets queued behind it come in the next batch of the same wake-up.
for (const offload of [false, true])
  test(`poll${offload ? ', offloads on' : ''}: after an idle spell the first packet comes alone, the burst behind it in one batch`, async (t) => {
    await withTun(
      t,
      async ({ tun, local, peer }) => {
        const batches: number[][] = []; // per batch: its size, then how many of ours it held
        const reader = startReader(
          tun.fd,
          'tun',
          { maxBatch: 32, slotSize: 1600, headroom: 16, pool: 4, mode: 'poll', vnetHdr: offload },
          (b) => batches.push([b.count, copyBatch(b).filter((g) => isUdpTo(g.data, peer, 9998)).length]),
        );
        const sock = await localSocket(local);
        try {
          await sleep(100); // the reader is idle: nothing but kernel noise has come
          for (let i = 0; i < 5; i++) sock.send(Buffer.from(`burst ${i}`), 9998, peer); // all before the loop polls
          await waitFor(() => batches.reduce((n, b) => n + b[1]!, 0) === 5, 5000, 'the five packets');
          const ours = batches.filter((b) => b[1]! > 0);
          assert.deepEqual(ours[0], [1, 1], 'the first packet is delivered alone');
          assert.deepEqual(
            ours.slice(1).map((b) => b[1]),
            [4],
            'the four behind it come together, read in the same wake-up',
          );
        } finally {
          reader.stop();
          sock.close();
        }
      },
      offload,
    );
  });
