// tcp-probe: a TCP echo server and a client that sends one byte every INTERVAL ms and prints
// the wall-clock time of every echo as a JSON line, to see exactly when a connection stops
// carrying traffic (a policy removed, a schedule ending).
// `try` opens one connection and says whether it was accepted within TIMEOUT_MS (exit 0) or not
// (exit 1: refused, unreachable or silently dropped), so a test sees a closed port fail fast.
// Usage: node tcp-probe.js serve HOST PORT | node tcp-probe.js connect HOST PORT INTERVAL_MS
//        node tcp-probe.js try HOST PORT TIMEOUT_MS
import { connect, createServer } from 'node:net';

const [mode, host = '0.0.0.0', portArg = '0', intervalArg = '50'] = process.argv.slice(2);
if (mode === 'serve') {
  const server = createServer((sock) => {
    process.stdout.write(JSON.stringify({ peer: sock.remoteAddress ?? '' }) + '\n');
    sock.on('data', (b) => sock.write(b));
    sock.on('error', () => sock.destroy());
  });
  server.listen(Number(portArg), host, () => {
    const a = server.address();
    process.stdout.write(JSON.stringify({ listening: typeof a === 'object' && a ? a.port : 0 }) + '\n');
  });
} else if (mode === 'connect') {
  const sock = connect(Number(portArg), host, () => {
    process.stdout.write(JSON.stringify({ connected: Date.now() }) + '\n');
    setInterval(() => sock.write('x'), Number(intervalArg));
  });
  sock.on('data', () => process.stdout.write(JSON.stringify({ echo: Date.now() }) + '\n'));
  sock.on('error', (e) => {
    process.stderr.write(`tcp-probe: ${e.message}\n`);
    process.exit(1);
  });
} else if (mode === 'try') {
  const sock = connect(Number(portArg), host, () => {
    process.stdout.write(JSON.stringify({ connected: Date.now() }) + '\n');
    sock.destroy();
    process.exit(0);
  });
  sock.on('error', (e: NodeJS.ErrnoException) => {
    process.stdout.write(JSON.stringify({ failed: e.code ?? e.message }) + '\n');
    process.exit(1);
  });
  setTimeout(() => {
    process.stdout.write(JSON.stringify({ failed: 'timeout' }) + '\n');
    process.exit(1);
  }, Number(intervalArg)).unref();
} else {
  process.stderr.write(
    'usage: tcp-probe serve HOST PORT | tcp-probe connect HOST PORT INTERVAL_MS | tcp-probe try HOST PORT TIMEOUT_MS\n',
  );
  process.exit(2);
}
