// The topology of the WireGuard project's netns scenarios (the Linux kernel's
// tools/testing/selftests/wireguard/netns.sh and wireguard-go's tests/netns.sh): namespace ns0
// runs both implementation processes and holds their UDP sockets, so the encrypted traffic
// crosses ns0's loopback; each device is created in ns0 and then moved with
// `ip link set IF netns nsX` into ns1 or ns2, which hold the tunnel addresses. The device must
// keep working after the move while its process and socket stay behind in ns0.
//
//   ns1: if1 192.168.241.1/24 fd00::1/24  <-- ns0: lo, UDP :10000 and :20000 -->  ns2: if2 .2
//
// Keys, ports, peers, endpoints and allowed IPs are set only with wg(8).
import { CONFORMANCE_PREFIX, Topology, genKeyPair, type KeyPair, type Namespace } from '../netns/index.js';
import { startDevice, type Device, type Impl } from './impl.js';

/** Tunnel addresses and listen ports, as in the WireGuard netns scenarios. */
export const IP4 = ['192.168.241.1', '192.168.241.2'] as const;
export const IP6 = ['fd00::1', 'fd00::2'] as const;
export const PORT = [10000, 20000] as const;

/** Side is one end of the pair: the namespace holding its device, the device and its keys. */
export interface Side {
  ns: Namespace;
  dev: Device;
  keys: KeyPair;
  ifname: string;
}

/** NetnsPair is the three-namespace topology with one device in ns1 and one in ns2. */
export interface NetnsPair {
  topo: Topology;
  ns0: Namespace;
  s1: Side;
  s2: Side;
}

/** newTopology starts a topology whose names begin with the suite's prefix (wgc). */
export function newTopology(): Topology {
  return Topology.create(CONFORMANCE_PREFIX);
}

/** wg runs `wg ARGS` in ns and returns its standard output (throws on failure). The UAPI socket
 * is a path in the shared filesystem, so the namespace only matters for the kernel's view. */
export async function wg(ns: Namespace, args: readonly string[], input?: string): Promise<string> {
  return (await ns.exec(['wg', ...args], { timeoutMs: 60_000, ...(input !== undefined ? { input } : {}) })).stdout;
}

/** setInterface gives ifname its private key (from a 0600 file, as wg(8) wants) and port. */
export async function setInterface(ns: Namespace, ifname: string, keys: KeyPair, port: number): Promise<void> {
  const file = ns.topo.writeFile(`${ifname}.key`, `${keys.privateKey}\n`);
  await wg(ns, ['set', ifname, 'private-key', file, 'listen-port', String(port)]);
}

/** netnsPair builds ns0/ns1/ns2, starts impl1 and impl2 in ns0, moves their devices to ns1 and
 * ns2, addresses them, and makes them peers with allowed IPs but no endpoints yet. */
export async function netnsPair(topo: Topology, impl1: Impl, impl2: Impl = impl1): Promise<NetnsPair> {
  const ns0 = await topo.addNamespace('ns0');
  const ns1 = await topo.addNamespace('ns1');
  const ns2 = await topo.addNamespace('ns2');
  const [s1, s2] = await devicePair([ns0, ns0], [ns1, ns2], [impl1, impl2]);
  return { topo, ns0, s1, s2 };
}

/** devicePair starts device i's process in procNs[i] (moving the device to devNs[i] when that
 * differs), gives it IP4[i]/24, IP6[i]/24, its key and PORT[i], makes the two devices peers with
 * allowed IPs but no endpoints, and brings them up. */
export async function devicePair(
  procNs: readonly [Namespace, Namespace],
  devNs: readonly [Namespace, Namespace],
  impls: readonly [Impl, Impl],
): Promise<[Side, Side]> {
  const keys = [genKeyPair(), genKeyPair()];
  const sides: Side[] = [];
  for (const i of [0, 1] as const) {
    const [home, target] = [procNs[i], devNs[i]];
    const ifname = home.topo.ifname('wg');
    const dev = await startDevice(home, ifname, impls[i]);
    if (target !== home) await home.exec(['ip', 'link', 'set', ifname, 'netns', target.name]);
    await target.exec(['ip', 'addr', 'add', `${IP4[i]}/24`, 'dev', ifname]);
    await target.exec(['ip', 'addr', 'add', `${IP6[i]}/24`, 'dev', ifname]);
    sides.push({ ns: target, dev, keys: keys[i]!, ifname });
  }
  const [s1, s2] = sides as [Side, Side];
  for (const [me, other, i] of [[s1, s2, 0] as const, [s2, s1, 1] as const]) {
    await setInterface(procNs[i], me.ifname, me.keys, PORT[i]);
    const j = 1 - i;
    const allowed = `${IP4[j]}/32,${IP6[j]}/128`;
    await wg(procNs[i], ['set', me.ifname, 'peer', other.keys.publicKey, 'allowed-ips', allowed]);
    await me.ns.exec(['ip', 'link', 'set', me.ifname, 'up']);
  }
  return [s1, s2];
}

/** setEndpoints points each side at the other's port on loopback of the given family. */
export async function setEndpoints(p: NetnsPair, family: 4 | 6): Promise<void> {
  const host = family === 4 ? '127.0.0.1' : '[::1]';
  await wg(p.ns0, ['set', p.s1.ifname, 'peer', p.s2.keys.publicKey, 'endpoint', `${host}:${PORT[1]}`]);
  await wg(p.ns0, ['set', p.s2.ifname, 'peer', p.s1.keys.publicKey, 'endpoint', `${host}:${PORT[0]}`]);
}

/** setMtu sets both devices' MTU (ip(8) in the namespaces that hold them). */
export async function setMtu(p: NetnsPair, mtu: number): Promise<void> {
  for (const s of [p.s1, p.s2]) await s.ns.exec(['ip', 'link', 'set', s.ifname, 'mtu', String(mtu)]);
}

/** endpoints reads `wg show IF endpoints` as public key -> endpoint ('(none)' when unknown). */
export async function endpoints(ns: Namespace, ifname: string): Promise<Map<string, string>> {
  const out = await wg(ns, ['show', ifname, 'endpoints']);
  const m = new Map<string, string>();
  for (const line of out.split('\n')) {
    const [pub, ep] = line.split('\t');
    if (pub !== undefined && pub !== '' && ep !== undefined) m.set(pub, ep);
  }
  return m;
}

/** LinkStats are the kernel's counters of a device. On a TUN device "rx" counts the packets
 * the implementation wrote into the kernel, i.e. what it delivered out of the tunnel. */
export interface LinkStats {
  rxPackets: number;
  txPackets: number;
  rxBytes: number;
  txBytes: number;
}

/** linkStats reads `ip -s -j link show dev IF` in ns. */
export async function linkStats(ns: Namespace, ifname: string): Promise<LinkStats> {
  const out = (await ns.exec(['ip', '-s', '-j', 'link', 'show', 'dev', ifname])).stdout;
  type Counters = { packets: number; bytes: number };
  const j = JSON.parse(out) as { stats64?: { rx: Counters; tx: Counters } }[];
  const rx = j[0]?.stats64?.rx;
  const tx = j[0]?.stats64?.tx;
  if (rx === undefined || tx === undefined) throw new Error(`no stats64 for ${ifname}: ${out}`);
  return { rxPackets: rx.packets, txPackets: tx.packets, rxBytes: rx.bytes, txBytes: tx.bytes };
}

/** mbps formats bits per second as Mbit/s for the test log. */
export function mbps(bps: number): string {
  return `${(bps / 1e6).toFixed(0)} Mbit/s`;
}
