// Warming the packet path before the tunnel carries traffic. V8 compiles the per-packet
// functions with its optimizing tier only once they have run a while (src-shared/lib/node-flags.ts):
// in a fresh helper that took the first seconds of traffic, dozens of compilations landing
// among the first few hundred pings, and those pings made the RTT tail (docs/architecture.md,
// "The first second of traffic"). So before its own device starts, the helper runs two devices
// of its own classes against each other: a handshake, then lone packets back and forth, each
// read by a native reader from the real adapter code over a descriptor pair
// (tun/loop-adapter.ts), through the firewall, ChaCha20-Poly1305 and the path bind, over UDP
// sockets in memory (wireguard/device/loop-io.ts), until the round trips are done or the time
// is up. The keys are thrown away with the devices; nothing leaves the process.
import { generatePrivateKey, publicKeyFromPrivate } from '../../../src-shared/lib/keys.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { parseIp, parseIpPrefix, type IpAddress } from '../../../src-shared/lib/ip/addr.js';
import { parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { onOffSwitch } from '../../../src-shared/lib/native/switch.js';
import { Device } from '../wireguard/device/device.js';
import { loopBinds, type LoopBind } from '../wireguard/device/loop-io.js';
import { openLoopAdapter, type LoopAdapter } from '../tun/loop-adapter.js';
import { PathBind } from '../nat/path-bind.js';
import { Firewall } from '../firewall/filter.js';
import { compile } from '../firewall/compile.js';

/** WARM_UP_ROUND_TRIPS: in a fresh helper the last packet-path function reached V8's top tier
 * after about 800 lone pings (measured with --log-code); a round trip here is two packets. */
export const WARM_UP_ROUND_TRIPS = 1000;
/** WARM_UP_BUDGET_MS bounds the warm-up on a slow or busy machine: start-up waits no longer. */
export const WARM_UP_BUDGET_MS = 1500;

/** WarmUp is what the warm-up did: round trips completed, and how long it took. */
export interface WarmUp {
  roundTrips: number;
  ms: number;
}

let last: WarmUp | null = null;

/** lastWarmUp is the helper's last warm-up (null: none ran, WARREN_WARM_UP=off). */
export function lastWarmUp(): WarmUp | null {
  return last;
}

/** warmUpEnabled reads WARREN_WARM_UP (on by default; off starts the device cold). */
export function warmUpEnabled(env: NodeJS.ProcessEnv = process.env): boolean {
  return onOffSwitch(env, 'WARREN_WARM_UP') ?? true;
}

const A = '100.64.0.1';
const B = '100.64.0.2';

/** packet is an IPv4 packet from src to dst: an ICMP echo request (type 8) or reply (type 0),
 * or a UDP datagram, with a 56-byte payload as ping sends. Checksums are left zero: the
 * devices and the firewall do not check them, and nothing reaches a kernel. */
function packet(src: string, dst: string, kind: 'request' | 'reply' | 'udp'): Buffer {
  const udp = kind === 'udp';
  const p = Buffer.alloc(20 + 8 + 56, 0x5a);
  p.fill(0, 0, 28);
  p[0] = 0x45;
  p.writeUInt16BE(p.length, 2);
  p[8] = 64;
  p[9] = udp ? 17 : 1;
  p.writeUInt32BE(parseIPv4(src)!, 12);
  p.writeUInt32BE(parseIPv4(dst)!, 16);
  if (udp) {
    p.writeUInt16BE(40000, 20);
    p.writeUInt16BE(40001, 22);
    p.writeUInt16BE(8 + 56, 24);
  } else {
    p[20] = kind === 'request' ? 8 : 0;
    p.writeUInt16BE(0x5752, 24);
  }
  return p;
}

interface Side {
  dev: Device;
  adapter: LoopAdapter;
  bind: PathBind;
  firewall: Firewall;
}

/** SideSpec is one of the two devices: its key and address, and its peer's. */
interface SideSpec {
  key: Buffer;
  peerKey: Buffer;
  bind: LoopBind;
  me: string;
  other: string;
  otherAddr: IpAddress;
}

// side builds one device over its loop adapter and socket, with an allow-all firewall (as a
// profile without policies runs) that tracks the flows as the real one does.
function side(mtu: number, s: SideSpec): Side {
  const adapter = openLoopAdapter(`warm-${s.me}`, mtu);
  try {
    const bind = new PathBind(s.bind);
    const silent = createLogger(0, { write: () => true });
    const dev = new Device({ privateKey: s.key, tun: adapter.tun, bind, mtu, log: silent });
    const peer = dev.addPeer({
      publicKey: publicKeyFromPrivate(s.peerKey),
      endpoint: { addr: s.otherAddr, port: 51820 },
      allowedIps: [parseIpPrefix(`${s.other}/32`)!],
      persistentKeepalive: 0,
      name: 'warm-up',
    });
    const firewall = allowAll(peer.index, s.me, s.other);
    dev.filter = firewall;
    return { dev, adapter, bind, firewall };
  } catch (e) {
    adapter.close();
    throw e;
  }
}

/** allowAll is a firewall for this system at `me` that lets everything through with the peer
 * in slot peerIndex, tracking each flow. */
function allowAll(peerIndex: number, me: string, other: string): Firewall {
  const firewall = new Firewall({ maxFlows: 1024 });
  firewall.setLocal(parseIPv4(me)!);
  firewall.setRules(
    compile({
      local: { identity: `warm-up-${me}`, tags: [] },
      peers: [{ index: peerIndex, identity: `warm-up-${other}`, tags: [] }],
      policies: [],
      now: Date.now(),
      mode: 'allow-all',
    }),
  );
  return firewall;
}

/** maintain does what the helper's timers do beside the traffic: the device's protocol timers
 * and the firewall's sweep. A field they set that no packet sets (the time of the last sweep)
 * would otherwise take its first value at the real device's first tick, and a value of another
 * kind than the one it was born with gives its class a new hidden class, which throws away the
 * code optimized for the old one (see the test of this file). */
function maintain(s: Side): void {
  s.dev.runTimers();
  // On the device's clock, as the policy runtime sweeps (the firewall's own is the wall clock).
  s.firewall.sweep(s.dev.clock());
}

/** warmUpPacketPath runs the packet path in memory until roundTrips lone round trips are done
 * or budgetMs has passed, then stops everything it started; it records and returns what it did.
 * The round trips go over two pairs of devices in turn, half each: the real device's objects
 * are fresh ones, and the second pair's fresh objects (an empty array that first takes a peer,
 * a new replay window) train the optimized code on them too, where one pair alone left the
 * first real packets to throw it away (a dozen deoptimizations, measured with --log-deopt);
 * the second half is enough for V8 to optimize the paths again. */
export async function warmUpPacketPath(
  mtu: number,
  opts: { roundTrips?: number; budgetMs?: number } = {},
): Promise<WarmUp> {
  const started = performance.now();
  const deadline = started + (opts.budgetMs ?? WARM_UP_BUDGET_MS);
  const want = opts.roundTrips ?? WARM_UP_ROUND_TRIPS;
  const first = Math.ceil(want * 0.5);
  let done = await roundTrips(mtu, first, deadline);
  if (done === first) done += await roundTrips(mtu, want - first, deadline);
  last = { roundTrips: done, ms: Math.round(performance.now() - started) };
  return last;
}

/** roundTrips passes `want` lone round trips between two new devices, or as many as fit before
 * the deadline (performance.now() time), and returns how many it completed. */
async function roundTrips(mtu: number, want: number, deadline: number): Promise<number> {
  const [addrA, addrB] = [parseIp('192.0.2.1')!, parseIp('192.0.2.2')!];
  const [bindA, bindB] = loopBinds(addrA, addrB);
  const [keyA, keyB] = [generatePrivateKey(), generatePrivateKey()];
  const a = side(mtu, { key: keyA, peerKey: keyB, bind: bindA, me: A, other: B, otherAddr: addrB });
  let b: Side;
  try {
    b = side(mtu, { key: keyB, peerKey: keyA, bind: bindB, me: B, other: A, otherAddr: addrA });
  } catch (e) {
    a.adapter.close();
    throw e;
  }
  let done = 0;
  let late = false;
  let wake: (() => void) | null = null;
  const timer = setTimeout(
    () => {
      late = true;
      wake?.();
    },
    Math.max(0, deadline - performance.now()),
  );
  // arrived waits until `to` has written a packet more than `before`; false once time is up.
  const arrived = async (to: Side, before: number): Promise<boolean> => {
    while (to.adapter.arrived === before) {
      if (late) return false;
      await new Promise<void>((r) => (wake = r));
    }
    return true;
  };
  a.adapter.onArrive = b.adapter.onArrive = () => wake?.();
  try {
    a.dev.start();
    b.dev.start();
    const request = [packet(A, B, 'request'), packet(A, B, 'udp')];
    const reply = [packet(B, A, 'reply'), packet(B, A, 'udp')];
    while (done < want && !late) {
      const there = b.adapter.arrived;
      if (!a.adapter.inject(request[done & 1]!) || !(await arrived(b, there))) break;
      const back = a.adapter.arrived;
      if (!b.adapter.inject(reply[done & 1]!) || !(await arrived(a, back))) break;
      done++;
      for (const s of [a, b]) maintain(s);
    }
    // Every flow expires: the real sweeps' removals run here too, not first at the real device.
    for (const s of [a, b]) s.firewall.sweep(Number.POSITIVE_INFINITY);
  } finally {
    clearTimeout(timer);
    for (const s of [a, b]) {
      s.dev.stop();
      s.bind.close();
      s.adapter.close();
    }
  }
  return done;
}
