// A tiny TCP front for the multi-coordinator sign-in test, as a load balancer would be: each
// connection goes to the first target that accepts one, so with the first dead the next takes
// over. Usage: node front.js HOST PORT TARGET_HOST:PORT...
import { connect, createServer, type Socket } from 'node:net';

/** MAX_CONNECTIONS bounds the open connections; a test needs a handful. */
const MAX_CONNECTIONS = 256;
const CONNECT_TIMEOUT_MS = 2000;

const [host, port, ...targets] = process.argv.slice(2);
if (!host || !port || targets.length === 0) {
  console.error('usage: front.js HOST PORT TARGET_HOST:PORT...');
  process.exit(2);
}

/** reach connects to the first target that accepts, trying them in order; null when none does. */
function reach(i: number, done: (s: Socket | null) => void): void {
  if (i >= targets.length) return done(null);
  const [h, p] = [
    targets[i]!.slice(0, targets[i]!.lastIndexOf(':')),
    targets[i]!.slice(targets[i]!.lastIndexOf(':') + 1),
  ];
  const s = connect({ host: h, port: Number(p), timeout: CONNECT_TIMEOUT_MS });
  const fail = (): void => {
    s.destroy();
    reach(i + 1, done);
  };
  s.once('error', fail);
  s.once('timeout', fail);
  s.once('connect', () => {
    s.removeListener('error', fail);
    s.removeListener('timeout', fail);
    s.setTimeout(0);
    done(s);
  });
}

const server = createServer((client) => {
  client.pause();
  client.on('error', () => client.destroy());
  reach(0, (upstream) => {
    if (!upstream || client.destroyed) {
      upstream?.destroy();
      client.destroy();
      return;
    }
    upstream.on('error', () => client.destroy());
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.pipe(upstream);
    upstream.pipe(client);
    client.resume();
  });
});
server.maxConnections = MAX_CONNECTIONS;
server.listen(Number(port), host, () => console.log(`front ready on ${host}:${port}`));
