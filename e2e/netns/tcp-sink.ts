// tcp-sink: accepts one TCP connection on HOST PORT (0 = any free port), reads it to the end
// and prints the byte count, SHA-256 and seconds from first byte to end as one JSON line.
// Usage: node tcp-sink.js HOST PORT
import { createHash } from 'node:crypto';
import { createServer } from 'node:net';

const [host = '0.0.0.0', portArg = '0'] = process.argv.slice(2);
const server = createServer((sock) => {
  server.close();
  const hash = createHash('sha256');
  let bytes = 0;
  let first = 0n;
  sock.on('data', (b: Buffer) => {
    if (bytes === 0) first = process.hrtime.bigint();
    bytes += b.length;
    hash.update(b);
  });
  sock.on('end', () => {
    const seconds = bytes === 0 ? 0 : Number(process.hrtime.bigint() - first) / 1e9;
    process.stdout.write(JSON.stringify({ bytes, sha256: hash.digest('hex'), seconds }) + '\n');
    sock.end();
  });
  sock.on('error', (e) => {
    process.stderr.write(`tcp-sink: ${e.message}\n`);
    process.exit(1);
  });
});
server.on('error', (e) => {
  process.stderr.write(`tcp-sink: ${e.message}\n`);
  process.exit(1);
});
server.listen(Number(portArg), host, () => {
  const addr = server.address();
  const port = typeof addr === 'object' && addr !== null ? addr.port : 0;
  process.stdout.write(JSON.stringify({ listening: port }) + '\n');
});
