// Hostile UDP for the helper: udpFuzz (random and malformed datagrams) and UdpRelay (a
// forwarder between two peers that records real WireGuard datagrams and replays them).
import { nodeScript } from './node-script.js';
import type { TrackedProcess } from './process.js';
import type { Namespace } from './topology.js';

/** udpKernelDrops reads the datagrams the kernel of ns dropped before a program could read them
 * (socket buffer full, RcvbufErrors in /proc/net/snmp), so a test neither blames the helper for
 * them nor hides its misses. */
export async function udpKernelDrops(ns: Namespace): Promise<number> {
  const snmp = (await ns.exec(['cat', '/proc/net/snmp'])).stdout.split('\n').filter((l) => l.startsWith('Udp:'));
  const [names, values] = snmp.map((l) => l.trim().split(/\s+/).slice(1));
  const i = names?.indexOf('RcvbufErrors') ?? -1;
  return i >= 0 ? Number(values?.[i] ?? 0) : 0;
}

/** FuzzResult: how many datagrams were handed to the kernel, by kind. */
export interface FuzzResult {
  sent: number;
  kinds: Record<'random' | 'type1' | 'type2' | 'type3' | 'type4', number>;
}

/** udpFuzz sends count random, truncated and malformed datagrams from ns to dstIp:port. */
export async function udpFuzz(ns: Namespace, dstIp: string, port: number, count: number): Promise<FuzzResult> {
  const r = await ns.exec([...nodeScript('udp-fuzz'), dstIp, String(port), String(count)], {
    timeoutMs: 60_000 + count * 2,
  });
  return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as FuzzResult;
}

/** UdpRelayOptions: where the relay listens, where it forwards, and which local address it
 * forwards from. */
export interface UdpRelayOptions {
  listenIp: string;
  listenPort: number;
  targetIp: string;
  targetPort: number;
  outIp?: string;
  maxRecorded?: number;
}

/** UdpRelay is a running udp-relay. */
export interface UdpRelay {
  proc: TrackedProcess;
  /** endpoint is "listenIp:listenPort", the address peers should use instead of the target. */
  endpoint: string;
  /** outPort is the relay's source port toward the target (the endpoint the target sees). */
  outPort: number;
  counts(): Promise<{ recorded: number; forwarded: number }>;
  /** replay resends every recorded datagram to the target; resolves with how many were sent. */
  replay(): Promise<number>;
  /** initiations returns the handshake initiations the relay recorded, as they were sent. */
  initiations(): Promise<Buffer[]>;
  stop(): Promise<void>;
}

/** startUdpRelay starts a relay in ns and waits until it is bound. */
export async function startUdpRelay(ns: Namespace, o: UdpRelayOptions): Promise<UdpRelay> {
  const proc = ns.spawn(
    [
      ...nodeScript('udp-relay'),
      o.listenIp,
      String(o.listenPort),
      o.targetIp,
      String(o.targetPort),
      o.outIp ?? '0.0.0.0',
      String(o.maxRecorded ?? 4096),
    ],
    { name: `udp-relay-${o.listenPort}` },
  );
  const ready = await proc.waitFor(/\{"ready":true,"out":(\d+)\}/, 10_000);
  const request = <T>(cmd: string, key: string): Promise<T> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`udp-relay: no answer to ${cmd}`));
      }, 60_000);
      const off = proc.onLine((line) => {
        if (!line.startsWith(`{"${key}"`)) return;
        clearTimeout(timer);
        off();
        resolve(JSON.parse(line) as T);
      });
      proc.write(`${cmd}\n`);
    });
  return {
    proc,
    endpoint: `${o.listenIp}:${o.listenPort}`,
    outPort: Number(ready[1]),
    counts: () => request<{ recorded: number; forwarded: number }>('count', 'recorded'),
    replay: async () => (await request<{ replayed: number }>('replay', 'replayed')).replayed,
    initiations: async () =>
      (await request<{ initiations: string[] }>('initiations', 'initiations')).initiations.map((b) =>
        Buffer.from(b, 'base64'),
      ),
    stop: () => proc.stop(1000),
  };
}
