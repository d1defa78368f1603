// The sockmap reference (sockmap-ref.c) is only worth its figures if it forwards correctly: every
// byte both ways, in order, and a FIN passed on without cutting off what preceded it. Needs cc and
// CAP_BPF; skipped without them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const BENCH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'scripts', 'bench');

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex');

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

function freePort(): Promise<number> {
  const s = createServer();
  return listen(s).then((port) => new Promise((resolve) => s.close(() => resolve(port))));
}

function readAll(s: Socket): Promise<Buffer> {
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  return new Promise((resolve, reject) => {
    s.once('end', () => resolve(Buffer.concat(chunks)));
    s.once('error', reject);
  });
}

/** startRef compiles and starts sockmap-ref, or returns a reason to skip: no C compiler, or
 * the kernel refusing the BPF map or program (the program's own report, exit status 1). A
 * source that does not compile, or any other exit, fails the test. */
async function startRef(dir: string, listenPort: number, target: number): Promise<ChildProcess | string> {
  const bin = join(dir, 'sockmap-ref');
  const cc = spawnSync('cc', [
    '-O2',
    '-o',
    bin,
    join(BENCH, 'sockmap-ref.c'),
    join(BENCH, 'sockmap-bpf.c'),
    '-lpthread',
  ]);
  if (cc.error) return 'no C compiler';
  assert.equal(cc.status, 0, `sockmap-ref does not compile: ${String(cc.stderr)}`);
  const p = spawn(bin, [String(listenPort), String(target)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  p.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  return new Promise((resolve, reject) => {
    p.once('exit', (code) => {
      if (code === 1 && /^sockmap-ref: (?!listen)/.test(stderr))
        resolve(`the kernel refuses the sockmap here (no CAP_BPF or no sockmap): ${stderr.split('\n')[0]}`);
      else reject(new Error(`sockmap-ref exited with ${code}: ${stderr}`));
    });
    p.stdout.once('data', () => resolve(p));
  });
}

test(
  'the sockmap reference forwards bytes intact both ways and passes a half-close on in order',
  { timeout: 30_000 },
  async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sockmap-ref-'));
    const up = randomBytes(8 * 2 ** 20);
    const down = randomBytes(3 * 2 ** 20);
    // The server answers only once the client's FIN has arrived, so the answer travels through a
    // half-closed pair, and the server's own FIN must follow all of it.
    let received: Promise<Buffer> | undefined;
    const server = createServer({ allowHalfOpen: true }, (s) => {
      received = readAll(s);
      void received.then(() => s.end(down));
    });
    let ref: ChildProcess | string = 'not started';
    try {
      const target = await listen(server);
      const port = await freePort();
      ref = await startRef(dir, port, target);
      if (typeof ref === 'string') {
        t.skip(ref);
        return;
      }
      const c = connect({ host: '127.0.0.1', port, allowHalfOpen: true });
      const back = readAll(c);
      c.end(up);
      // The server answers only after reading up to the client's FIN, so by now it has it all.
      const got = await back;
      assert.ok(received !== undefined, 'the server saw the connection');
      assert.equal(sha(await received), sha(up), 'client to server');
      assert.equal(sha(got), sha(down), 'server to client');
      c.destroy();
    } finally {
      if (typeof ref !== 'string') ref.kill();
      server.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
);
