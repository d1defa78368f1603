// A real TUN device opened with the offloads (IFF_VNET_HDR, TSO, USO where the kernel has it):
// a UDP GSO send from a local socket (udp(7) UDP_SEGMENT, sent by python3) reaches the reader
// as one datagram per segment, with its own length and a checksum that verifies, in order,
// through batches too small for the super-packet (what does not fit waits for the next batch),
// in both reader modes; and a device opened plain is used as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { startReader } from './index.js';
import { MODES, copyBatch, waitFor, type Received } from './testing.js';
import { withTun } from './tun-testing.js';
import { checksumsOk } from './vnet-testing.js';

// SEND_GSO sends one UDP_SEGMENT super-datagram: argv src dst port size segment.
const SEND_GSO = `
import socket, sys
src, dst, port, size, seg = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((src, 0))
s.setsockopt(socket.SOL_UDP, 103, seg)  # UDP_SEGMENT
s.sendto(bytes((i * 7) & 0xff for i in range(size)), (dst, port))
`;

function hasPython(): boolean {
  try {
    execFileSync('python3', ['-c', 'pass'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

for (const mode of MODES)
  test(`${mode}: a UDP GSO super-packet read from an offload TUN arrives as its datagrams, across batches`, async (t) => {
    if (!hasPython()) return t.skip('needs python3 for UDP_SEGMENT');
    await withTun(
      t,
      async ({ tun, local, peer }) => {
        assert.equal(tun.vnetHdr, true, 'IFF_VNET_HDR granted');
        assert.equal(tun.tso, true, 'TSO granted');
        const got: Received[] = [];
        // 3 slots per batch: the 5 datagrams of one super-packet need two batches.
        const opts = { maxBatch: 3, slotSize: 1600, headroom: 16, pool: 4, mode, vnetHdr: true };
        const reader = startReader(tun.fd, 'tun', opts, (b) => got.push(...copyBatch(b)));
        try {
          execFileSync('python3', ['-c', SEND_GSO, local, peer, '9911', '4500', '1000']);
          const mine = () => got.filter((g) => g.data[9] === 17 && g.data.readUInt16BE(22) === 9911);
          await waitFor(() => mine().length >= 5, 5000, 'five datagrams');
          const dgrams = mine();
          assert.deepEqual(
            dgrams.map((g) => g.data.length - 28),
            [1000, 1000, 1000, 1000, 500],
          );
          const all = Buffer.concat(dgrams.map((g) => g.data.subarray(28)));
          assert.ok(
            all.every((b, i) => b === ((i * 7) & 0xff)),
            'payload in order',
          );
          for (const g of dgrams) {
            assert.ok(checksumsOk(g.data), 'IPv4 and UDP checksums verify');
            assert.equal(g.data.readUInt16BE(24), g.data.length - 20, 'UDP length');
          }
          const stats = reader.stats();
          t.diagnostic(`uso ${tun.uso}; reader stats ${JSON.stringify(stats)}`);
          // With USO the kernel handed over one super-packet that the reader split; without it,
          // the kernel segmented and the reader split nothing.
          assert.equal((stats.split ?? 0) >= 1, tun.uso);
        } finally {
          reader.stop();
        }
      },
      true,
    );
  });

test('a device opened without offload has no virtio header', async (t) => {
  await withTun(t, async ({ tun }) => {
    assert.deepEqual([tun.vnetHdr, tun.tso, tun.uso], [false, false, false]);
  });
});
