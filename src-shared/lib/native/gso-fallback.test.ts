// Real-kernel test of the GSO fallback (needs root): in a network namespace whose loopback MTU
// is 1280, a GSO group of 1400-byte datagrams does not fit the path, and the kernel refuses it
// (udp_send_skb: gso_size + headers > MTU gives EMSGSIZE, EINVAL before Linux 6.12), where a
// plain datagram is fragmented.
// The batch must still arrive whole and in order, sent again as plain datagrams, and the GSO
// state must turn off so that later batches do not ask again. The sending runs in a child node
// process under `ip netns exec`.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';

function sh(args: string[]): string {
  return execFileSync(args[0]!, args.slice(1), {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 15_000,
  });
}

function skipReason(): string | null {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'needs root to create network namespaces';
  if (spawnSync('ip', ['-V'], { stdio: 'ignore' }).error) return 'the ip command is missing';
  return null;
}

const here = import.meta.url;
const ext = here.endsWith('.ts') ? '.ts' : '.js';
// The child sends two batches of 60 datagrams (runs of 1400 bytes, each closed by a short one)
// with GSO asked for, and reports what a plain reader received.
const CHILD = `
const n = await import(process.env.GSO_MOD);
const rx = n.udpOpen('127.0.0.1', 0), tx = n.udpOpen('127.0.0.1', 0);
const got = [];
const reader = n.startReader(rx.fd, 'udp', { maxBatch: 64, slotSize: 2048, headroom: 0, pool: 4 }, (b) => {
  for (let i = 0; i < b.count; i++) got.push(Buffer.from(b.buf.subarray(b.offsets[i], b.offsets[i] + b.lengths[i])).toString('hex'));
});
const sizes = Array.from({ length: 60 }, (_, i) => (i % 20 === 19 ? 200 : 1400));
const buf = Buffer.alloc(60 * 2048), offsets = new Uint32Array(60), lengths = new Uint32Array(60);
const words = new Uint32Array(240), ports = new Uint16Array(60).fill(rx.port);
const want = [];
sizes.forEach((s, i) => {
  offsets[i] = i * 2048; lengths[i] = s;
  buf.fill(i, offsets[i], offsets[i] + s);
  words.set([0, 0, 0xffff, 0x7f000001], 4 * i);
  want.push(buf.subarray(offsets[i], offsets[i] + s).toString('hex'));
});
const state = new Uint8Array([n.udpGsoSupported(tx.fd) ? 1 : 0]);
const before = state[0];
const first = n.udpSendBatch(tx.fd, buf, offsets, lengths, words, ports, 60, null, state);
const after = state[0];
const second = n.udpSendBatch(tx.fd, buf, offsets, lengths, words, ports, 60, null, state);
const deadline = Date.now() + 5000;
while (got.length < 120 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
reader.stop();
process.stdout.write(JSON.stringify({ before, after, first, second, inOrder: JSON.stringify(got) === JSON.stringify([...want, ...want]), received: got.length }));
process.exit(0);
`;

test('a GSO batch the path cannot take goes as plain datagrams, and GSO stays off for the socket', (t) => {
  const skip = skipReason();
  if (skip) return t.skip(skip);
  const ns = `gso-fb-${randomBytes(3).toString('hex')}`;
  try {
    sh(['ip', 'netns', 'add', ns]);
    sh(['ip', '-n', ns, 'link', 'set', 'lo', 'mtu', '1280', 'up']);
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--input-type=module', '-e', CHILD], {
      encoding: 'utf8',
      env: { ...process.env, GSO_MOD: new URL(`./index${ext}`, here).pathname },
      timeout: 20_000,
    });
    assert.equal(r.status, 0, `child failed: ${r.stderr}`);
    const res = JSON.parse(r.stdout) as Record<string, unknown>;
    assert.equal(res.before, 1, 'GSO was asked for');
    assert.equal(res.after, 0, "the kernel's refusal turned GSO off for the socket");
    assert.equal(res.first, 60, 'the refused groups were sent again as plain datagrams');
    assert.equal(res.second, 60, 'the next batch goes plainly');
    assert.equal(res.received, 120);
    assert.equal(res.inOrder, true, 'every datagram arrived intact and in order');
  } finally {
    spawnSync('ip', ['netns', 'del', ns], { stdio: 'ignore' });
  }
});
