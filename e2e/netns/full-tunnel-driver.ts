// full-tunnel-driver: runs the helper's real FullTunnel (helper/src/router/full-tunnel.ts) inside
// a namespace, without the rest of the helper, so a test can look at the rules, routes and nft
// table it makes with the system's own tools. `on` enables it, prints {"on":true} and disables
// it on SIGTERM (SIGKILL leaves everything behind, as a crash does); `recover` runs the crash
// recovery of the next start. `route` and `local` run the Linux router's subnet routes and its
// list of local networks, for either family, and print the result as JSON.
// Usage: node full-tunnel-driver.js on STATE_DIR ADAPTER V4 V6|- 4|6|46 KILLSWITCH(0|1)
//        node full-tunnel-driver.js recover STATE_DIR
//        node full-tunnel-driver.js route add|del|recorded PREFIX|SPEC ADAPTER SRC
//        node full-tunnel-driver.js local ADAPTER
import { createLogger } from '../../src-shared/lib/log.js';
import { formatIpPrefix, parseIpPrefix } from '../../src-shared/lib/ip/addr.js';
import { FullTunnel, recoverFullTunnel } from '../../helper/src/router/full-tunnel.js';
import { linuxRouter } from '../../helper/src/router/router-linux.js';

const [mode, stateDir = '', adapter = '', v4 = '', v6 = '-', families = '4', killSwitch = '0'] = process.argv.slice(2);
const log = createLogger(2, process.stderr);

if (mode === 'route') {
  const [op = '', target = '', dev = '', src = ''] = process.argv.slice(3);
  try {
    process.stdout.write(`${JSON.stringify({ ok: routeOp(op, target, dev, src) })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    process.exit(1);
  }
} else if (mode === 'local') {
  const nets = linuxRouter.localNetworks(process.argv[3] ?? '').map((n) => `${formatIpPrefix(n.cidr)} ${n.dev}`);
  process.stdout.write(`${JSON.stringify({ local: nets })}\n`);
} else if (mode === 'recover') {
  recoverFullTunnel(stateDir, log);
  process.stdout.write(`${JSON.stringify({ recovered: true })}\n`);
} else if (mode === 'on') {
  const ft = new FullTunnel({
    adapter,
    virtualAddress: v4,
    virtualAddress6: v6 === '-' ? null : v6,
    setMark: () => undefined, // no WireGuard socket here: nothing of ours to mark
    stateDir,
    killSwitch: killSwitch === '1',
    log,
  });
  try {
    ft.enable({ ipv4: families.includes('4'), ipv6: families.includes('6') });
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ error: (e as Error).message })}\n`);
    process.exit(1);
  }
  process.stdout.write(`${JSON.stringify({ on: true, families: ft.families })}\n`);
  process.on('SIGTERM', () => {
    ft.disable();
    process.stdout.write(`${JSON.stringify({ off: true })}\n`);
    process.exit(0);
  });
  setInterval(() => undefined, 60_000);
} else {
  process.stderr.write('usage: full-tunnel-driver on|recover STATE_DIR ...\n');
  process.exit(2);
}

// routeOp runs one of the Linux router's route changes and returns its answer.
function routeOp(op: string, target: string, dev: string, src: string): boolean {
  if (op === 'recorded') return linuxRouter.removeRecordedRoute(target);
  const p = parseIpPrefix(target);
  if (p === null) throw new Error(`not a prefix: ${target}`);
  if (op === 'del') return linuxRouter.removeRoute(p, dev);
  linuxRouter.addRoute(p, dev, src);
  return true;
}
