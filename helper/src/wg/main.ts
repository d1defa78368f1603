// Entry point of `warren-wg` (bin/warren-wg imports this file): Warren's WireGuard data plane
// alone, driven by wg(8) and wg-quick(8) as wireguard-go is. See docs/warren-wg.md.
import { detach, reportFailure, reportReady } from './detach.js';
import { loggerFor, parseCommand, USAGE, versionText } from './args.js';
import { startDataPlane } from './run.js';

async function main(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const cmd = parseCommand(argv, env);
  switch (cmd.kind) {
    case 'version':
      process.stdout.write(versionText());
      return 0;
    case 'help':
      process.stdout.write(USAGE);
      return 0;
    case 'usage-error':
      process.stderr.write(`warren-wg: ${cmd.message}\n${USAGE}`);
      return 1;
    case 'run':
      break;
  }
  if (!cmd.foreground) return detach(argv, env, process.stderr);
  const log = loggerFor(env);
  let running;
  try {
    running = await startDataPlane({ name: cmd.name, log });
  } catch (e) {
    const message = `warren-wg: ${cmd.name}: ${(e as Error).message}`;
    if (!reportFailure(env, message)) process.stderr.write(`${message}\n`);
    return 1;
  }
  const onSignal = (sig: string) => () => void running.stop(`received ${sig}`);
  process.on('SIGTERM', onSignal('SIGTERM'));
  process.on('SIGINT', onSignal('SIGINT'));
  process.on('SIGHUP', () => {});
  reportReady(env);
  await running.stopped;
  return 0;
}

process.exit(await main(process.argv.slice(2), process.env));
