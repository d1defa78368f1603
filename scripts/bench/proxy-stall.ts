// proxy-stall: does a forwarder hold back a sender whose receiver stops reading? One connection
// per forwarder (forwarders.ts) to a server that accepts and never reads; the client writes as
// fast as the forwarder takes bytes for SECONDS. Prints how much the client got rid of and how
// far MemAvailable fell meanwhile (the machine's, so other work shows in it too): a forwarder
// that keeps TCP's flow control stalls the sender after its socket buffers fill (a few MiB); one
// that queues without a limit takes all the sender can send, in kernel memory. Root, in a
// namespace of its own, like proxy-cpu.ts:
//   ip netns add pxstall && ip -n pxstall link set lo up
//   ip netns exec pxstall node dist/scripts/bench/proxy-stall.js SECONDS
//   ip netns del pxstall
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect, createServer, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { forwarderPaths, startForwarders, type Path } from './forwarders.js';

const SERVER_PORT = 47300;
const CHUNK = Buffer.alloc(1 << 20, 0x78);

function memAvailableMiB(): number {
  const m = /^MemAvailable:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'));
  return m === null ? NaN : Number(m[1]) / 1024;
}

/** sink accepts connections and never reads them; accepted sockets are kept to close later. */
function sink(held: Socket[]): Promise<Server> {
  const server = createServer({ pauseOnConnect: true }, (s) => {
    s.on('error', () => s.destroy());
    held.push(s);
  });
  return new Promise((resolve) => server.listen(SERVER_PORT, '127.0.0.1', () => resolve(server)));
}

/** flood writes to path for seconds; MiB the client's socket took, and MemAvailable's fall. */
async function flood(path: Path, seconds: number): Promise<{ mib: number; fellMiB: number }> {
  const s = connect({ host: '127.0.0.1', port: path.port });
  s.on('error', () => s.destroy());
  await new Promise((resolve) => s.once('connect', resolve));
  const m0 = memAvailableMiB();
  let low = m0;
  const end = Date.now() + seconds * 1000;
  let queued = 0;
  while (Date.now() < end && !s.destroyed) {
    // Sampled here, not on a timer: a forwarder that never pushes back never lets the loop yield.
    low = Math.min(low, memAvailableMiB());
    queued += CHUNK.length;
    if (!s.write(CHUNK)) {
      // No 'drain' within the time left: the forwarder holds the sender back.
      await new Promise((resolve) => {
        const t = setTimeout(resolve, Math.max(0, end - Date.now()));
        s.once('drain', () => {
          clearTimeout(t);
          resolve(undefined);
        });
      });
    }
  }
  low = Math.min(low, memAvailableMiB());
  const mib = (queued - s.writableLength) / 2 ** 20;
  s.destroy();
  return { mib, fellMiB: m0 - low };
}

async function main(seconds: number): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'proxy-stall-'));
  const paths = forwarderPaths(dir, SERVER_PORT, false);
  const procs: ChildProcess[] = [];
  const held: Socket[] = [];
  const server = await sink(held);
  try {
    await startForwarders(paths, procs);
    process.stdout.write(`path         MiB sent in ${seconds} s   MemAvailable fell, MiB\n`);
    for (const p of paths) {
      const r = await flood(p, seconds);
      for (const s of held.splice(0)) s.destroy();
      await new Promise((resolve) => setTimeout(resolve, 1000)); // the kernel frees what was queued
      process.stdout.write(
        `${p.name.padEnd(12)} ${r.mib.toFixed(0).padStart(8)}          ${r.fellMiB.toFixed(0).padStart(6)}\n`,
      );
    }
  } finally {
    for (const p of procs) p.kill();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

const seconds = Number(process.argv[2] ?? 5);
if (!(seconds > 0 && seconds <= 120)) {
  process.stderr.write('usage: proxy-stall.js [SECONDS (0-120]]\n');
  process.exit(2);
}
await main(seconds);
