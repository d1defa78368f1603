// full-tunnel-driver: runs the helper's real FullTunnel (helper/src/router/full-tunnel.ts) inside
// a namespace, without the rest of the helper, so a test can look at the rules, routes and nft
// table it makes with the system's own tools. `on` enables it, prints {"on":true} and disables
// it on SIGTERM (SIGKILL leaves everything behind, as a crash does); `recover` runs the crash
// recovery of the next start.
// Usage: node full-tunnel-driver.js on STATE_DIR ADAPTER V4 V6|- 4|6|46 KILLSWITCH(0|1)
//        node full-tunnel-driver.js recover STATE_DIR
import { createLogger } from '../../src-shared/lib/log.js';
import { FullTunnel, recoverFullTunnel } from '../../helper/src/router/full-tunnel.js';

const [mode, stateDir = '', adapter = '', v4 = '', v6 = '-', families = '4', killSwitch = '0'] = process.argv.slice(2);
const log = createLogger(2, process.stderr);

if (mode === 'recover') {
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
