// A handshake flood from many source addresses (handshake-flood.ts) aimed at a helper: the
// attacker namespace gets an AnyIP local route for its source range, the flood runs there, and
// the caller waits for its measured part to begin and for its report.
import { nodeScript } from './node-script.js';
import type { TrackedProcess } from './process.js';
import type { Namespace } from './topology.js';

/** FloodOptions: the target, its public key (base64), the recorded initiation to replay, the
 * first of `sources` consecutive source addresses (the namespace must route them to itself,
 * see ownRange), datagrams per second, the longest warm-up and the longest run in seconds. */
export interface FloodOptions {
  targetIp: string;
  targetPort: number;
  publicKey: string;
  replay: Buffer;
  firstSource: string;
  sources: number;
  rate: number;
  warmupSeconds: number;
  seconds: number;
}

/** FloodReport is what the flood sent; floodSent, floodSeconds and floodRate cover the measured
 * part only (after the warm-up, while not paused). */
export interface FloodReport {
  sent: number;
  sendErrors: number;
  kinds: Record<'random' | 'mac1' | 'replay' | 'mac2' | 'cookieless', number>;
  cookieReplies: number;
  cookiesOpened: number;
  seconds: number;
  floodSent: number;
  floodSeconds: number;
  floodRate: number;
  sources: number;
  cookieSourcesAtStart: number;
  cookieSources: number;
  cpuSeconds: number;
}

/** Flood is a running handshake flood. */
export interface Flood {
  proc: TrackedProcess;
  /** flooding resolves when the warm-up is over, with how many sources then held a cookie. */
  flooding: Promise<{ cookieSources: number }>;
  /** report resolves with the report printed at the end (after stop, or `seconds`). */
  report: Promise<FloodReport>;
  /** pause stops sending until resume; stop ends the flood. */
  pause(): void;
  resume(): void;
  stop(): void;
}

/** ownRange makes every address of cidr local to ns (an AnyIP route), so sockets may bind any. */
export async function ownRange(ns: Namespace, cidr: string): Promise<void> {
  await ns.exec(['ip', 'route', 'add', 'local', cidr, 'dev', 'lo']);
}

/** startHandshakeFlood starts the flood in ns. */
export function startHandshakeFlood(ns: Namespace, o: FloodOptions): Flood {
  const proc = ns.spawn(
    [
      ...nodeScript('handshake-flood'),
      o.targetIp,
      String(o.targetPort),
      o.publicKey,
      o.firstSource,
      String(o.sources),
      String(o.rate),
      String(o.warmupSeconds),
      String(o.seconds),
      o.replay.toString('base64'),
    ],
    { name: 'handshake-flood' },
  );
  const timeout = (o.warmupSeconds + o.seconds) * 1000 + 30_000;
  const flooding = proc
    .waitFor(/\{"flooding":true,"cookieSources":(\d+)\}/, timeout)
    .then((m) => ({ cookieSources: Number(m[1]) }));
  const report = proc.waitFor(/\{"sent":.*\}\n/, timeout).then((m) => JSON.parse(m[0]) as FloodReport);
  // A caller that fails before awaiting these must not also crash on an unhandled rejection.
  flooding.catch(() => undefined);
  report.catch(() => undefined);
  return {
    proc,
    flooding,
    report,
    pause: () => proc.write('pause\n'),
    resume: () => proc.write('resume\n'),
    stop: () => proc.write('stop\n'),
  };
}
