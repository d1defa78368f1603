// The crypto threads end to end: one TCP stream through two helpers, first with the threads off
// (WARREN_THREADS=off), then with four (the JS thread and three workers on a batch, more than
// this machine has cores, so that the workers' chunks interleave as much as they can). The
// data must arrive byte-exact, the workers must really have sealed and opened packets, and
// the sender's TCP retransmissions must not rise against the single-thread run: a batch split
// across threads that came out of order would show as duplicate ACKs and fast retransmits.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  startWarren,
  tcpTransfer,
  waitForPing,
  warrenCli,
  warrenProfile,
  type Namespace,
  type Warren,
  jsSliceWords,
} from './netns/index.js';

const MB = 1024 * 1024;
const BYTES = 96 * MB;

/** counter reads one of ns's TCP counters (absolute, without touching nstat's history). */
async function counter(ns: Namespace, name: string): Promise<number> {
  const out = (await ns.exec(['nstat', '-asz', name])).stdout;
  const m = new RegExp(`^${name}\\s+(\\d+)`, 'm').exec(out);
  if (!m) throw new Error(`nstat printed no ${name}: ${out}`);
  return Number(m[1]);
}

/** The sender's retransmitted segments, and the receiver's segments that arrived ahead of a
 * gap and waited in its out-of-order queue (the direct sign of reordering). */
const RETRANS = 'TcpRetransSegs';
const OFO = 'TcpExtTCPOFOQueue';

interface Run {
  retrans: number;
  ofo: number;
  mbps: number;
  workerPackets: number;
}

describeE2E('crypto threads', { warren: true, binaries: ['ping', 'nstat'] }, { timeout: 300_000 }, () => {
  let topo: Topology;
  const ka = genKeyPair();
  const kb = genKeyPair();
  const runs = new Map<string, Run>();
  before(() => {
    topo = Topology.create();
  });
  after(async () => {
    await topo?.destroy();
  });

  /** transfer starts both helpers with WARREN_THREADS=threads, checks their status, sends
   * BYTES from a to b and stops them (the namespaces are fresh per run: clean counters). */
  async function transfer(threads: string, want: number): Promise<Run> {
    const a = await topo.addNamespace(`threads-${threads}-a`);
    const b = await topo.addNamespace(`threads-${threads}-b`);
    await topo.link(a, b, '192.0.2.1/24', '192.0.2.2/24');
    const env = { ...process.env, WARREN_THREADS: threads };
    const start = (ns: Namespace, k: typeof ka, vip: string, peer: typeof ka, peerIp: string, peerVip: string) =>
      startWarren(
        ns,
        warrenProfile({
          keys: k,
          listenPort: 51820,
          virtualAddress: vip,
          adapter: topo.ifname('w'),
          peers: [
            { name: 'peer', publicKey: peer.publicKey, endpoint: `${peerIp}:51820`, allowedIps: [`${peerVip}/32`] },
          ],
        }),
        { name: `threads-${threads}-${ns.short}`, verbosity: 1, env },
      );
    const wa = await start(a, ka, '100.64.0.1', kb, '192.0.2.2', '100.64.0.2');
    const wb = await start(b, kb, '100.64.0.2', ka, '192.0.2.1', '100.64.0.1');
    try {
      await waitForPing(a, '100.64.0.2');
      for (const w of [wa, wb]) await checkStatus(w, want);
      const before = { retrans: await counter(a, RETRANS), ofo: await counter(b, OFO) };
      const r = await tcpTransfer(a, b, '100.64.0.2', BYTES);
      assert.equal(r.recvBytes, BYTES, `threads ${threads}: bytes received`);
      assert.equal(r.recvSha, r.sentSha, `threads ${threads}: sha256 of what arrived`);
      const retrans = (await counter(a, RETRANS)) - before.retrans;
      const ofo = (await counter(b, OFO)) - before.ofo;
      const workerPackets = await workerPacketsOf([wa, wb]);
      return { retrans, ofo, mbps: r.mbps, workerPackets };
    } finally {
      await Promise.all([wa.stop(), wb.stop()]);
    }
  }

  async function checkStatus(w: Warren, want: number): Promise<void> {
    assert.equal((await w.status()).offloads?.cryptoThreads, want, w.name);
    const human = (await warrenCli(w.ns, ['status', '--socket', w.socket])).stdout;
    const words = want === 1 ? 'threads off' : `threads ${want}`;
    assert.match(
      human,
      new RegExp(`^Offloads: .*, ${words}, wake-ticker off, ${jsSliceWords()}, warm-up \\d+ms$`, 'm'),
      `${w.name}: ${human}`,
    );
  }

  async function workerPacketsOf(ws: Warren[]): Promise<number> {
    let n = 0;
    for (const w of ws) n += (await w.status()).offloads?.cryptoWorkerPackets ?? 0;
    return n;
  }

  test('threads off: the stream arrives byte-exact and only the JS thread does crypto', async (t) => {
    const r = await transfer('off', 1);
    assert.equal(r.workerPackets, 0);
    runs.set('off', r);
    t.diagnostic(`threads off: ${r.mbps.toFixed(0)} Mbit/s, ${r.retrans} retransmitted, ${r.ofo} queued out of order`);
  });

  test('four threads: byte-exact, the workers take part, retransmits do not rise', async (t) => {
    const r = await transfer('4', 4);
    t.diagnostic(
      `threads 4: ${r.mbps.toFixed(0)} Mbit/s, ${r.retrans} retransmitted, ${r.ofo} queued out of order, ${r.workerPackets} packets on workers`,
    );
    assert.ok(r.workerPackets > 1000, `the workers sealed or opened only ${r.workerPackets} packets`);
    const off = runs.get('off');
    assert.ok(off, 'the threads-off run must run first');
    // Linux TCP adapts to reordering (RACK, its reordering degree), so every batch reversed on
    // purpose cost only 80 to 285 retransmits of this stream's 73,000 segments when tried, but
    // about 73,000 segments in the receiver's out-of-order queue. The slack leaves room for a
    // few real losses on a shared machine (0 to 2 retransmits seen either way).
    const slack = 20;
    assert.ok(
      r.retrans <= off.retrans + slack,
      `retransmitted ${r.retrans} segments with threads, ${off.retrans} without`,
    );
    assert.ok(r.ofo <= off.ofo + slack, `${r.ofo} segments queued out of order with threads, ${off.ofo} without`);
  });
});
