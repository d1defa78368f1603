// proxy-cpu: where a proxied byte's CPU goes. One bulk connection at a time over loopback, direct
// and through three forwarders: the helper's splice() (relay.ts, so the native splice pump after
// its JS prelude) and the minimal C reference (splice-ref.c) splicing and copying. For each run
// it reads the CPU (user and system) of client, server and forwarder, so the cost of the second
// TCP connection shows per process; paths run in interleaved rounds, the order reversed every
// other round, and medians are printed. Run it where nothing else listens on its ports, ideally
// in a namespace of its own (needs `cc` for the C reference, else that path is left out):
//   ip netns add pxcpu && ip -n pxcpu link set lo up
//   ip netns exec pxcpu node dist/scripts/bench/proxy-cpu.js SECONDS ROUNDS
//   ip netns del pxcpu
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { procStats } from '../../e2e/netns/procstats.js';
import { splice } from '../../helper/src/proxy/relay.js';
import type { BulkResult } from './proxy-load.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const LOAD = join(HERE, 'proxy-load.js');
const SERVER_PORT = 47300;

interface Path {
  name: string;
  port: number;
  /** argv of the forwarder; none for the direct path. */
  argv?: string[];
}

interface Sample {
  gbps: number;
  client: number;
  server: number;
  forwarder: number | null;
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

/** start runs argv and resolves once it prints its {"listening":...} line. */
function start(argv: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...args] = argv;
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    p.once('error', reject);
    p.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before listening`)));
    p.stdout?.once('data', () => resolve(p));
  });
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
  const b = bulk(path.port, seconds);
  const gib = b.bytes / 2 ** 30;
  return {
    gbps: (b.bytes * 8) / b.seconds / 1e9,
    client: b.cpuSeconds / gib,
    server: (cpu(server) - s0) / gib,
    forwarder: fwd === undefined ? null : (cpu(fwd) - f0) / gib,
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor((s.length - 1) / 2)] ?? NaN;
}

function report(name: string, xs: Sample[]): string {
  const g = xs.map((x) => x.gbps);
  const f = (k: 'client' | 'server'): string => median(xs.map((x) => x[k])).toFixed(3);
  const fw = xs[0]?.forwarder === null ? '-' : median(xs.map((x) => x.forwarder ?? 0)).toFixed(3);
  const all = median(xs.map((x) => x.client + x.server + (x.forwarder ?? 0))).toFixed(3);
  const range = `[${Math.min(...g).toFixed(2)}-${Math.max(...g).toFixed(2)}]`;
  return `${name.padEnd(12)} ${median(g).toFixed(2).padStart(6)} ${range.padEnd(13)} ${f('client')}  ${f('server')}  ${fw.padStart(5)}  ${all}`;
}

/** referenceBinary compiles splice-ref.c into dir, or returns null without a C compiler. */
function referenceBinary(dir: string): string | null {
  const src = join(HERE, '..', '..', '..', 'scripts', 'bench', 'splice-ref.c');
  const out = join(dir, 'splice-ref');
  const r = spawnSync('cc', ['-O2', '-o', out, src, '-lpthread'], { stdio: 'inherit' });
  return r.status === 0 ? out : null;
}

async function main(seconds: number, rounds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-cpu-'));
  const ref = referenceBinary(dir);
  const self = fileURLToPath(import.meta.url);
  const paths: Path[] = [
    { name: 'direct', port: SERVER_PORT },
    { name: 'pump', port: SERVER_PORT + 1, argv: [process.execPath, self, 'forward', String(SERVER_PORT + 1)] },
  ];
  if (ref !== null) {
    paths.push({
      name: 'c-splice',
      port: SERVER_PORT + 2,
      argv: [ref, String(SERVER_PORT + 2), String(SERVER_PORT), '262144'],
    });
    paths.push({
      name: 'c-copy',
      port: SERVER_PORT + 3,
      argv: [ref, String(SERVER_PORT + 3), String(SERVER_PORT), '0', 'copy'],
    });
  }
  const procs: ChildProcess[] = [];
  try {
    const server = await start([process.execPath, LOAD, 'serve', '127.0.0.1', String(SERVER_PORT)]);
    procs.push(server);
    const fwd = new Map<string, number | undefined>();
    for (const p of paths) {
      if (p.argv === undefined) continue;
      const c = await start(p.argv);
      procs.push(c);
      fwd.set(p.name, c.pid);
      bulk(p.port, 0.3); // warm up: JIT, the pump thread, first-connection paths
    }
    const samples = new Map<string, Sample[]>(paths.map((p) => [p.name, []]));
    for (let r = 0; r < rounds; r++) {
      for (const p of r % 2 === 0 ? paths : [...paths].reverse()) {
        samples.get(p.name)?.push(measure(p, seconds, server.pid ?? 0, fwd.get(p.name)));
      }
    }
    process.stdout.write(
      `path          Gbit/s [range]      CPU s/GiB: client server forwarder all (medians of ${rounds})\n`,
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
