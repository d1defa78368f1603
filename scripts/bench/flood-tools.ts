// Tools of the NAT flood bench (nat-flood.ts): UDP sockets bound to many loopback source
// addresses that send a paced flood, simulated systems that keep registering (or asking for
// their mapping) and count what is answered, and percentiles. Loopback is 127.0.0.0/8 on
// Linux, so every 127.x.y.z is a real source address a socket can bind and be answered at.
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';

/** floodAddress is the i-th forged source: each in a /24 of its own (127.1.0.1, 127.1.1.1, ...),
 * so limits per /24 do not help the target any more than limits per address. */
export function floodAddress(i: number): string {
  return `127.${1 + (i >> 8)}.${i & 255}.1`;
}

/** realAddress is the i-th real system's source, all in 127.200.0.0/24. */
export function realAddress(i: number): string {
  return `127.200.${i >> 8}.${(i & 255) + 1}`;
}

/** bindUdp opens a UDP socket on ip (any free port). */
export async function bindUdp(ip: string): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    s.once('error', reject);
    s.bind(0, ip, () => {
      s.off('error', reject);
      resolve();
    });
  });
  s.on('error', () => {});
  return s;
}

/** FloodResult: datagrams sent and the seconds it took. */
export interface FloodResult {
  sent: number;
  seconds: number;
}

/** Flood sends datagrams from many sockets, round robin, at a steady rate. */
export class Flood {
  private constructor(private readonly sockets: Socket[]) {}

  static async open(sources: number): Promise<Flood> {
    const sockets: Socket[] = [];
    for (let i = 0; i < sources; i++) sockets.push(await bindUdp(floodAddress(i)));
    return new Flood(sockets);
  }

  /** run sends make(k) for k = 0, 1, ... to port on 127.0.0.1 at perSecond for seconds. */
  run(port: number, perSecond: number, seconds: number, make: (k: number) => Uint8Array): Promise<FloodResult> {
    const t0 = performance.now();
    let sent = 0;
    return new Promise((resolve) => {
      const tick = setInterval(() => {
        const elapsed = (performance.now() - t0) / 1000;
        const due = Math.min(Math.floor(perSecond * Math.min(elapsed, seconds)), sent + perSecond);
        for (; sent < due; sent++) {
          this.sockets[sent % this.sockets.length]!.send(make(sent), port, '127.0.0.1');
        }
        if (elapsed >= seconds) {
          clearInterval(tick);
          resolve({ sent, seconds: elapsed });
        }
      }, 4);
    });
  }

  close(): void {
    for (const s of this.sockets) s.close();
  }
}

/** Asker is one simulated system: it sends a fresh request every period and matches answers
 * by their 16-byte nonce (at offset 5 in every answer the bench waits for). */
export class Asker {
  attempts = 0;
  answered = 0;
  readonly latenciesMs: number[] = [];
  private readonly pending = new Map<string, number>();

  constructor(
    readonly socket: Socket,
    private readonly port: number,
    /** request builds a signed request around a nonce. */
    private readonly request: (nonce: Buffer) => Uint8Array,
    /** answerKind is the NAT kind of the answer that counts. */
    private readonly answerKind: number,
    private readonly timeoutMs = 2_000,
  ) {
    socket.on('message', (m: Buffer) => this.onMessage(m));
  }

  ask(): void {
    const nonce = randomBytes(16);
    this.pending.set(nonce.toString('hex'), performance.now());
    this.attempts++;
    this.socket.send(this.request(nonce), this.port, '127.0.0.1');
  }

  /** reset forgets the counts (and answers still in flight) between phases. */
  reset(): void {
    this.attempts = 0;
    this.answered = 0;
    this.latenciesMs.length = 0;
    this.pending.clear();
  }

  private onMessage(m: Buffer): void {
    if (m.length < 21 || m[3] !== this.answerKind) return;
    const key = m.subarray(5, 21).toString('hex');
    const at = this.pending.get(key);
    if (at === undefined) return;
    this.pending.delete(key);
    const ms = performance.now() - at;
    if (ms > this.timeoutMs) return;
    this.answered++;
    this.latenciesMs.push(ms);
  }
}

/** askEvery makes each asker ask once per periodMs (spread over the period) for seconds, then
 * waits for the last answers. */
export async function askEvery(askers: Asker[], periodMs: number, seconds: number): Promise<void> {
  const timers: NodeJS.Timeout[] = [];
  askers.forEach((a, i) => {
    const start = setTimeout(
      () => {
        a.ask();
        timers.push(setInterval(() => a.ask(), periodMs));
      },
      Math.floor((i * periodMs) / askers.length),
    );
    timers.push(start);
  });
  await sleep(seconds * 1000);
  for (const t of timers) clearInterval(t);
  await sleep(2_100);
}

/** Totals sums askers' counts. */
export function totals(askers: Asker[]): { attempts: number; answered: number; latenciesMs: number[] } {
  return {
    attempts: askers.reduce((n, a) => n + a.attempts, 0),
    answered: askers.reduce((n, a) => n + a.answered, 0),
    latenciesMs: askers.flatMap((a) => a.latenciesMs),
  };
}

/** percentile of values (0..100), NaN for none. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return NaN;
  const s = values.slice().sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))]!;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** probeLatency issues one request at a time every gapMs for seconds and returns each
 * request's latency (ms); a failed request counts as its time to fail. */
export async function probeLatency(fn: () => Promise<unknown>, seconds: number, gapMs = 20): Promise<number[]> {
  const out: number[] = [];
  const end = performance.now() + seconds * 1000;
  while (performance.now() < end) {
    const t = performance.now();
    try {
      await fn();
    } catch {
      // counted by its latency like any other
    }
    out.push(performance.now() - t);
    await sleep(gapMs);
  }
  return out;
}
