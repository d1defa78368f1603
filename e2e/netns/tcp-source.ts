// tcp-source: connects to HOST PORT and streams BYTES random bytes, optionally paced to RATE
// bytes per second, printing {"sent":N} progress lines and finally the byte count and SHA-256.
// Usage: node tcp-source.js HOST PORT BYTES [RATE]
import { createHash, randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';

const [host = '', portArg = '', bytesArg = '', rateArg = '0'] = process.argv.slice(2);
const total = Number(bytesArg);
const rate = Number(rateArg);
const CHUNK = 64 * 1024;

function fail(msg: string): never {
  process.stderr.write(`tcp-source: ${msg}\n`);
  process.exit(1);
}

if (!host || !Number.isSafeInteger(total) || total < 0) fail('usage: tcp-source HOST PORT BYTES [RATE]');

async function connectWithRetry(): Promise<Socket> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      return await new Promise<Socket>((resolve, reject) => {
        const s = connect({ host, port: Number(portArg) }, () => {
          s.removeListener('error', reject);
          resolve(s);
        });
        s.once('error', reject);
      });
    } catch (e) {
      if (Date.now() > deadline) fail(`connect ${host}:${portArg}: ${(e as Error).message}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}

const sock = await connectWithRetry();
sock.on('error', (e) => fail(e.message));
const hash = createHash('sha256');
const start = Date.now();
let sent = 0;
let lastReport = 0;
while (sent < total) {
  const chunk = randomBytes(Math.min(CHUNK, total - sent));
  hash.update(chunk);
  sent += chunk.length;
  if (!sock.write(chunk)) await new Promise((r) => sock.once('drain', r));
  const now = Date.now();
  if (now - lastReport >= 200) {
    lastReport = now;
    process.stdout.write(JSON.stringify({ sent }) + '\n');
  }
  if (rate > 0) {
    const ahead = (sent / rate) * 1000 - (now - start);
    if (ahead > 5) await new Promise((r) => setTimeout(r, ahead));
  }
}
await new Promise<void>((r) => sock.end(r));
const seconds = (Date.now() - start) / 1000;
process.stdout.write(JSON.stringify({ sent }) + '\n');
process.stdout.write(JSON.stringify({ bytes: sent, sha256: hash.digest('hex'), seconds }) + '\n');
if (sock.destroyed) process.exit(0);
sock.on('close', () => process.exit(0));
