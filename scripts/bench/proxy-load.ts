// proxy-load: the server and the load generator of the proxy benchmark (scripts/bench/proxy.ts),
// run as separate processes inside the benchmark's namespace. One server port serves two
// kinds of connection, told apart by their first byte, so a single Ingress entry publishes both:
//   'b' bulk: every byte is counted; on the client's FIN the server answers the count and closes.
//   'e' echo: the byte is echoed and the server closes at once (the server closing first keeps
//       TIME_WAIT off the client's ephemeral ports, which a connection-rate run would exhaust).
// Clients connect directly or through an HTTP CONNECT proxy and print one JSON line.
// Usage:
//   node proxy-load.js serve HOST PORT
//   node proxy-load.js bulk HOST PORT SECONDS [PROXY_HOST:PROXY_PORT]
//   node proxy-load.js rate HOST PORT SECONDS CONCURRENCY [PROXY_HOST:PROXY_PORT]
import { connect, createServer, type Socket } from 'node:net';

/** BulkResult is what `bulk` prints: bytes the server counted over the seconds until its answer,
 * and the client's own CPU seconds (user + system) meanwhile. */
export interface BulkResult {
  bytes: number;
  seconds: number;
  cpuSeconds: number;
}

/** RateResult is what `rate` prints: completed connections, failures, and latency percentiles. */
export interface RateResult {
  connections: number;
  errors: number;
  seconds: number;
  p50Ms: number;
  p99Ms: number;
  firstError: string | null;
}

const CHUNK = Buffer.alloc(256 * 1024, 0x61);
/** MAX_COUNT_REPLY bounds what a client reads back from the server's byte count. */
const MAX_COUNT_REPLY = 32;
const MAX_PROXY_HEAD = 4096;
const MAX_SAMPLES = 200_000;

function fail(msg: string): never {
  process.stderr.write(`proxy-load: ${msg}\n`);
  process.exit(1);
}

function serve(host: string, port: number): void {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.setNoDelay(true);
    s.on('error', () => s.destroy());
    let mode: 'b' | 'e' | null = null;
    let bytes = 0;
    s.on('data', (d: Buffer) => {
      if (mode === null) {
        const m = String.fromCharCode(d[0] ?? 0);
        if (m !== 'b' && m !== 'e') {
          s.destroy();
          return;
        }
        mode = m;
        if (mode === 'e') {
          s.end('e');
          return;
        }
      }
      if (mode === 'b') bytes += d.length;
    });
    s.on('end', () => {
      if (mode === 'b') s.end(`${bytes - 1}\n`);
      else s.end();
    });
  });
  server.on('error', (e) => fail(e.message));
  server.listen(port, host, () => {
    const a = server.address();
    process.stdout.write(JSON.stringify({ listening: typeof a === 'object' && a ? a.port : 0 }) + '\n');
  });
}

/** open connects to host:port, through proxy (`host:port` of an HTTP CONNECT proxy) if given,
 * and resolves once bytes can flow to the target. */
function open(host: string, port: number, proxy: string | undefined): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const [ph, pp] = proxy === undefined ? [host, String(port)] : proxy.split(':');
    const s = connect({ host: ph ?? '', port: Number(pp), allowHalfOpen: true });
    s.setNoDelay(true);
    s.once('error', reject);
    s.once('connect', () => {
      if (proxy === undefined) {
        s.removeListener('error', reject);
        resolve(s);
        return;
      }
      s.write(`CONNECT ${host}:${port} HTTP/1.1\r\nHost: ${host}:${port}\r\n\r\n`);
      let head = Buffer.alloc(0);
      const onData = (d: Buffer): void => {
        head = Buffer.concat([head, d]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) {
          if (head.length > MAX_PROXY_HEAD) s.destroy(new Error('proxy answer head too long'));
          return;
        }
        s.removeListener('data', onData);
        s.removeListener('error', reject);
        const status = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
        if (!/^HTTP\/1\.[01] 200 /.test(status)) {
          s.destroy();
          reject(new Error(`proxy answered ${status}`));
          return;
        }
        if (head.length > end + 4) s.unshift(head.subarray(end + 4));
        resolve(s);
      };
      s.on('data', onData);
      s.once('end', () => reject(new Error('proxy closed before answering')));
    });
  });
}

async function bulk(host: string, port: number, seconds: number, proxy: string | undefined): Promise<BulkResult> {
  const s = await open(host, port, proxy);
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  const until = t0 + BigInt(Math.round(seconds * 1e9));
  let reply = '';
  const answered = new Promise<number>((resolve, reject) => {
    s.on('data', (d: Buffer) => {
      reply += d.toString('latin1');
      if (reply.length > MAX_COUNT_REPLY) s.destroy(new Error('server reply too long'));
    });
    s.once('end', () => {
      const n = Number(reply.trim());
      if (!/^\d+\n$/.test(reply) || !Number.isSafeInteger(n))
        reject(new Error(`bad count from server: ${JSON.stringify(reply)}`));
      else resolve(n);
    });
    s.once('error', reject);
  });
  s.write('b');
  for (;;) {
    let full = false;
    // Check the clock every write: a 256 KiB write is microseconds, the check nanoseconds.
    while (!full && process.hrtime.bigint() < until) full = !s.write(CHUNK);
    if (!full) break;
    await new Promise<void>((r) => s.once('drain', r));
  }
  s.end();
  const bytes = await answered;
  s.destroy();
  const cpu = process.cpuUsage(cpu0);
  return { bytes, seconds: Number(process.hrtime.bigint() - t0) / 1e9, cpuSeconds: (cpu.user + cpu.system) / 1e6 };
}

/** echoOnce opens a connection, sends one byte, waits for it and for the server's close. */
async function echoOnce(host: string, port: number, proxy: string | undefined): Promise<void> {
  const s = await open(host, port, proxy);
  await new Promise<void>((resolve, reject) => {
    let got = 0;
    s.on('data', (d: Buffer) => {
      got += d.length;
    });
    s.once('error', reject);
    s.once('end', () => {
      s.end();
      if (got === 1) resolve();
      else reject(new Error(`echo returned ${got} bytes`));
    });
    s.write('e');
  });
  s.destroy();
}

async function rate(
  host: string,
  port: number,
  seconds: number,
  concurrency: number,
  proxy: string | undefined,
): Promise<RateResult> {
  const t0 = performance.now();
  const until = t0 + seconds * 1000;
  const samples: number[] = [];
  let connections = 0;
  let errors = 0;
  let firstError: string | null = null;
  const loop = async (): Promise<void> => {
    while (performance.now() < until) {
      const start = performance.now();
      try {
        await echoOnce(host, port, proxy);
        connections++;
        if (samples.length < MAX_SAMPLES) samples.push(performance.now() - start);
      } catch (e) {
        errors++;
        firstError ??= (e as Error).message;
        // A failing target must not turn this into a busy loop.
        await new Promise((r) => setTimeout(r, 10));
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, loop));
  samples.sort((a, b) => a - b);
  const pct = (p: number): number =>
    samples[Math.min(samples.length - 1, Math.floor((p / 100) * samples.length))] ?? NaN;
  return { connections, errors, seconds: (performance.now() - t0) / 1000, p50Ms: pct(50), p99Ms: pct(99), firstError };
}

function num(v: string | undefined, what: string, max: number): number {
  const n = Number(v);
  if (v === undefined || !/^\d+(\.\d+)?$/.test(v) || n <= 0 || n > max) fail(`${what} must be a number in (0, ${max}]`);
  return n;
}

const [mode, host = '', portArg, ...rest] = process.argv.slice(2);
const port = num(portArg, 'PORT', 65535);
if (mode === 'serve') {
  serve(host, port);
} else if (mode === 'bulk') {
  const r = await bulk(host, port, num(rest[0], 'SECONDS', 600), rest[1]).catch((e: Error) => fail(e.message));
  process.stdout.write(JSON.stringify(r) + '\n');
} else if (mode === 'rate') {
  const r = await rate(host, port, num(rest[0], 'SECONDS', 600), num(rest[1], 'CONCURRENCY', 1024), rest[2]);
  process.stdout.write(JSON.stringify(r) + '\n');
} else {
  fail(
    'usage: proxy-load serve HOST PORT | bulk HOST PORT SECONDS [PROXY] | rate HOST PORT SECONDS CONCURRENCY [PROXY]',
  );
}
