// The TUN segmentation offloads end to end: two helpers in namespaces with IFF_VNET_HDR, TSO
// and write-side coalescing on (the default). Large TCP streams both ways arrive byte-exact;
// the adapters' own counters show the kernel handed over super-packets (TSO) and took
// coalesced ones (GRO); status says so; and a datagram or segment whose checksum was
// corrupted before it entered the tunnel is dropped by the receiving kernel (its InCsumErrors
// counters rise), never passed to the application: coalescing must not vouch for a bad sum.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  startWarren,
  tcpTransfer,
  waitForPing,
  warrenCli,
  warrenProfile,
  type Namespace,
  type PairLayout,
  type Warren,
  jsSliceWords,
} from './netns/index.js';
import type { ProfilePeer } from './netns/profile.js';

const MB = 1024 * 1024;
const MTU = 1420;

/** linkStat reads one of an interface's counters (/sys/class/net/IF/statistics). */
async function linkStat(ns: Namespace, ifname: string, stat: string): Promise<number> {
  return Number((await ns.exec(['cat', `/sys/class/net/${ifname}/statistics/${stat}`])).stdout.trim());
}

/** csumErrors reads InCsumErrors of Udp and Tcp from /proc/net/snmp in ns. */
async function csumErrors(ns: Namespace): Promise<{ udp: number; tcp: number }> {
  const text = (await ns.exec(['cat', '/proc/net/snmp'])).stdout;
  const field = (proto: string): number => {
    const [names, values] = text.split('\n').filter((l) => l.startsWith(`${proto}:`));
    const i = names!.split(/\s+/).indexOf('InCsumErrors');
    return Number(values!.split(/\s+/)[i]);
  };
  return { udp: field('Udp'), tcp: field('Tcp') };
}

// SEND_RAW sends, from a raw socket with our own IP header, a UDP datagram and a TCP segment
// whose checksums are wrong by one, then a correct UDP datagram: argv src dst port.
const SEND_RAW = `
import socket, struct, sys
src, dst, port = sys.argv[1], sys.argv[2], int(sys.argv[3])
def csum(b):
    if len(b) % 2: b += b'\\0'
    s = sum(struct.unpack('!%dH' % (len(b) // 2), b))
    while s >> 16: s = (s & 0xffff) + (s >> 16)
    return ~s & 0xffff
def ip(proto, l4):
    h = struct.pack('!BBHHHBBH4s4s', 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0, socket.inet_aton(src), socket.inet_aton(dst))
    return h[:10] + struct.pack('!H', csum(h)) + h[12:] + l4
def l4(proto, hdr, payload, bad):
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack('!BBH', 0, proto, len(hdr) + len(payload))
    c = csum(pseudo + hdr + payload)
    at = 6 if proto == 17 else 16
    c = (c + 1) & 0xffff if bad else c
    return hdr[:at] + struct.pack('!H', c or 0xffff) + hdr[at + 2:] + payload
s = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
bad = b'corrupted on the way'
s.sendto(ip(17, l4(17, struct.pack('!HHHH', 40000, port, 8 + len(bad), 0), bad, True)), (dst, 0))
tcp = struct.pack('!HHIIBBHHH', 40001, port, 1, 0, 5 << 4, 0x18, 1000, 0, 0)
s.sendto(ip(6, l4(6, tcp, bad, True)), (dst, 0))
good = b'intact'
s.sendto(ip(17, l4(17, struct.pack('!HHHH', 40000, port, 8 + len(good), 0), good, False)), (dst, 0))
`;

// RECV prints every datagram that reaches port on addr, one per line, until 3 s of silence.
const RECV = `
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((sys.argv[1], int(sys.argv[2])))
print('ready', flush=True)
s.settimeout(3)
try:
    while True: print('got', s.recv(2048).decode(errors='replace'), flush=True)
except socket.timeout:
    print('done', flush=True)
`;

describeE2E('TUN offloads', { warren: true, binaries: ['ping', 'python3'] }, { timeout: 300_000 }, () => {
  let topo: Topology;
  let l: PairLayout;
  let wa: Warren;
  let wb: Warren;
  const ka = genKeyPair();
  const kb = genKeyPair();
  const adapters = { a: '', b: '' };

  before(async () => {
    topo = Topology.create();
    l = await pairLayout(topo);
    adapters.a = topo.ifname('w');
    adapters.b = topo.ifname('w');
    const peer = (name: string, k: typeof ka, ip: string, vip: string): ProfilePeer => ({
      name,
      publicKey: k.publicKey,
      endpoint: `${ip}:51820`,
      allowedIps: [`${vip}/32`],
    });
    const profile = (k: typeof ka, vip: string, adapter: string, p: ProfilePeer) =>
      warrenProfile({ keys: k, listenPort: 51820, virtualAddress: vip, adapter, peers: [p] });
    wa = await startWarren(l.a, profile(ka, '100.64.0.1', adapters.a, peer('b', kb, l.bIp, '100.64.0.2')));
    wb = await startWarren(l.b, profile(kb, '100.64.0.2', adapters.b, peer('a', ka, l.aIp, '100.64.0.1')));
    await waitForPing(l.a, '100.64.0.2');
  });
  after(async () => {
    await topo?.destroy();
  });

  test('status shows the TUN offloads on', async () => {
    for (const w of [wa, wb]) {
      const o = (await w.status()).offloads;
      assert.equal(o?.tunTso, true, `${w.name}: ${JSON.stringify(o)}`);
      assert.equal(o?.tunGro, true, `${w.name}: ${JSON.stringify(o)}`);
      const human = await warrenCli(w.ns, ['status', '--socket', w.socket]);
      assert.match(
        human.stdout,
        new RegExp(
          `^Offloads: .*tun-tso on, tun-gro on, threads (off|\\d+), wake-ticker off, ${jsSliceWords()}, warm-up \\d+ms$`,
          'm',
        ),
        `${w.name}: ${human.stdout}`,
      );
    }
  });

  test('8 MiB each way arrive byte-exact, sent as TSO super-packets and written coalesced', async (t) => {
    const before = {
      aTx: [await linkStat(l.a, adapters.a, 'tx_packets'), await linkStat(l.a, adapters.a, 'tx_bytes')],
      bRx: [await linkStat(l.b, adapters.b, 'rx_packets'), await linkStat(l.b, adapters.b, 'rx_bytes')],
    };
    const ab = await tcpTransfer(l.a, l.b, '100.64.0.2', 8 * MB);
    assert.equal(ab.recvBytes, 8 * MB);
    assert.equal(ab.recvSha, ab.sentSha);
    const ba = await tcpTransfer(l.b, l.a, '100.64.0.1', 8 * MB);
    assert.equal(ba.recvBytes, 8 * MB);
    assert.equal(ba.recvSha, ba.sentSha);
    // The TUN counts a super-packet once: an average above the MTU is only possible if the
    // kernel handed a's helper TSO packets and b's helper wrote coalesced ones.
    const aTx = await linkStat(l.a, adapters.a, 'tx_packets');
    const aTxB = await linkStat(l.a, adapters.a, 'tx_bytes');
    const bRx = await linkStat(l.b, adapters.b, 'rx_packets');
    const bRxB = await linkStat(l.b, adapters.b, 'rx_bytes');
    const txAvg = (aTxB - before.aTx[1]!) / (aTx - before.aTx[0]!);
    const rxAvg = (bRxB - before.bRx[1]!) / (bRx - before.bRx[0]!);
    t.diagnostic(
      `a->b ${ab.mbps.toFixed(0)} Mbit/s, b->a ${ba.mbps.toFixed(0)} Mbit/s; a's adapter sent ${txAvg.toFixed(0)} B/packet, b's received ${rxAvg.toFixed(0)} B/packet`,
    );
    assert.ok(txAvg > MTU, `a's adapter averaged ${txAvg.toFixed(0)} bytes per packet: no TSO super-packets`);
    assert.ok(rxAvg > MTU, `b's adapter averaged ${rxAvg.toFixed(0)} bytes per packet: nothing coalesced`);
  });

  test('a corrupted UDP datagram and TCP segment through the tunnel are dropped by the kernel', async () => {
    const port = 7777;
    const errs0 = await csumErrors(l.b);
    const recv = l.b.spawn(['python3', '-c', RECV, '100.64.0.2', String(port)], { name: 'csum-recv' });
    try {
      await recv.waitFor(/ready/, 10_000);
      await l.a.exec(['python3', '-c', SEND_RAW, '100.64.0.1', '100.64.0.2', String(port)]);
      await recv.waitFor(/done/, 15_000);
      const lines = recv
        .output()
        .split('\n')
        .filter((x) => x.startsWith('got '));
      assert.deepEqual(lines, ['got intact'], 'only the intact datagram reaches the application');
      const errs = await csumErrors(l.b);
      assert.ok(errs.udp > errs0.udp, `Udp InCsumErrors ${errs0.udp} -> ${errs.udp}`);
      assert.ok(errs.tcp > errs0.tcp, `Tcp InCsumErrors ${errs0.tcp} -> ${errs.tcp}`);
    } finally {
      await recv.stop(2000);
    }
  });
});
