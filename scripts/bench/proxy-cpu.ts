// proxy-cpu: where a proxied byte's CPU goes. One bulk connection at a time over loopback, direct
// and through four forwarders (forwarders.ts): the helper's splice() (relay.ts, so the native
// splice pump after its JS prelude), the minimal C reference (splice-ref.c) splicing and
// copying, and a minimal BPF sockmap forwarder (sockmap-ref.c). For each run it reads the CPU
// (user and system) of client, server, forwarder and the kernel's worker threads (where a
// sockmap redirect's sends run), so the cost of the second TCP connection shows per process;
// paths run in interleaved rounds, the order reversed every other round, and medians are printed. Run it where nothing else listens on its ports, ideally
// in a namespace of its own (needs `cc` for the C reference, else that path is left out):
//   ip netns add pxcpu && ip -n pxcpu link set lo up
//   ip netns exec pxcpu node dist/scripts/bench/proxy-cpu.js SECONDS ROUNDS
//   ip netns del pxcpu
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseStatTicks, procStats } from '../../e2e/netns/procstats.js';
import { splice } from '../../helper/src/proxy/relay.js';
import { forwarderPaths, startForwarders, startServer, type Path } from './forwarders.js';
import type { BulkResult } from './proxy-load.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LOAD = join(HERE, 'proxy-load.js');
const SERVER_PORT = 47300;

interface Sample {
  gbps: number;
  client: number;
  server: number;
  forwarder: number | null;
  /** CPU of the kernel's worker threads, where a sockmap redirect's sends run. */
  kworkers: number;
}

/** kworkerSeconds is the CPU time of every kworker thread (other work of the machine included). */
function kworkerSeconds(): number {
  let ticks = 0;
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      if (stat.includes('(kworker')) ticks += parseStatTicks(stat);
    } catch {
      // gone meanwhile
    }
  }
  return ticks / 100; // USER_HZ
}

/** forward is the test forwarder: the helper's splice() between each client and the server. */
function forward(listenPort: number, targetPort: number): void {
  const server = createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => {
    const u = connect({ host: '127.0.0.1', port: targetPort, allowHalfOpen: true });
    u.pause();
    u.once('connect', () => splice(c, u, 60_000));
    u.on('error', () => c.destroy());
    c.on('error', () => u.destroy());
  });
  server.listen(listenPort, '127.0.0.1', () => process.stdout.write(`{"listening":${listenPort}}\n`));
}

function bulk(port: number, seconds: number): BulkResult {
  const r = spawnSync(process.execPath, [LOAD, 'bulk', '127.0.0.1', String(port), String(seconds)], {
    encoding: 'utf8',
    timeout: seconds * 1000 + 30_000,
  });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  if (r.status !== 0 || line === '') throw new Error(`bulk to ${port} failed: ${r.stderr.slice(-300)}`);
  return JSON.parse(line) as BulkResult;
}

function measure(path: Path, seconds: number, server: number, fwd: number | undefined): Sample {
  const cpu = (pid: number | undefined): number => (pid === undefined ? 0 : procStats(pid).cpuSeconds);
  const s0 = cpu(server);
  const f0 = cpu(fwd);
  const k0 = kworkerSeconds();
  const b = bulk(path.port, seconds);
  const k1 = kworkerSeconds();
  const gib = b.bytes / 2 ** 30;
  return {
    gbps: (b.bytes * 8) / b.seconds / 1e9,
    client: b.cpuSeconds / gib,
    server: (cpu(server) - s0) / gib,
    forwarder: fwd === undefined ? null : (cpu(fwd) - f0) / gib,
    kworkers: (k1 - k0) / gib,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

function report(name: string, xs: Sample[]): string {
  const g = xs.map((x) => x.gbps);
  const f = (k: 'client' | 'server' | 'kworkers'): string => median(xs.map((x) => x[k])).toFixed(3);
  const fw = xs[0]?.forwarder === null ? '-' : median(xs.map((x) => x.forwarder ?? 0)).toFixed(3);
  const all = median(xs.map((x) => x.client + x.server + (x.forwarder ?? 0) + x.kworkers)).toFixed(3);
  const range = `[${Math.min(...g).toFixed(2)}-${Math.max(...g).toFixed(2)}]`;
  return `${name.padEnd(12)} ${median(g).toFixed(2).padStart(6)} ${range.padEnd(13)} ${f('client')}  ${f('server')}  ${fw.padStart(5)}  ${f('kworkers')}  ${all}`;
}

async function main(seconds: number, rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-cpu-'));
  const paths = forwarderPaths(dir, SERVER_PORT, true);
  const procs: ChildProcess[] = [];
  try {
    const server = await startServer([process.execPath, LOAD, 'serve', '127.0.0.1', String(SERVER_PORT)], procs);
    const fwd = await startForwarders(paths, procs);
    for (const p of paths) if (p.argv !== undefined) bulk(p.port, 0.3); // warm up: JIT, pump thread
    const samples = new Map<string, Sample[]>(paths.map((p) => [p.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const p of r % 2 === 0 ? paths : [...paths].reverse()) {
        samples.get(p.name)?.push(measure(p, seconds, server.pid ?? 0, fwd.get(p.name)));
      }
    }
    process.stdout.write(
      `path          Gbit/s [range]      CPU s/GiB: client server forwarder kworkers all (medians of ${rounds})\n`,
    );
    for (const p of paths) process.stdout.write(report(p.name, samples.get(p.name) ?? []) + '\n');
  } finally {
    for (const p of procs) p.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

const [mode, arg] = process.argv.slice(2);
if (mode === 'forward') {
  forward(Number(arg), SERVER_PORT);
} else {
  const seconds = Number(mode ?? 2);
  const rounds = Number(arg ?? 6);
  if (!(seconds > 0 && seconds <= 600 && Number.isInteger(rounds) && rounds >= 1 && rounds <= 100)) {
    process.stderr.write('usage: proxy-cpu.js [SECONDS (0-600]] [ROUNDS 1-100]\n');
    process.exit(2);
  }
  await main(seconds, rounds);
}
