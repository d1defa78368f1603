// A relay in a process of its own with the limits a test chooses (warren-relay takes none on its
// command line), for tests that must not share an event loop with their clients:
//   node test-process.js '{"coordinatorKey":BASE64,"relayKey":BASE64,"limits":{...}}'
// It prints "port N" once listening on 127.0.0.1 and, on SIGTERM, "stats JSON" before exiting.
import { createLogger } from '../../src-shared/lib/log.js';
import type { RelayLimits } from './options.js';
import { startRelay } from './sockets.js';

const o = JSON.parse(process.argv[2] ?? '{}') as {
  coordinatorKey: string;
  relayKey: string;
  limits?: Partial<RelayLimits>;
};
const r = await startRelay({
  coordinatorKey: Buffer.from(o.coordinatorKey, 'base64'),
  relayKey: Buffer.from(o.relayKey, 'base64'),
  log: createLogger(1, process.stderr),
  udp: '127.0.0.1:0',
  ...(o.limits ? { limits: o.limits } : {}),
});
process.once('SIGTERM', () => {
  process.stdout.write(`stats ${JSON.stringify(r.relay.stats())}\n`);
  void r.close().then(() => process.exit(0));
});
// After the handler: the test may signal as soon as it reads the port.
process.stdout.write(`port ${r.udpPort}\n`);
