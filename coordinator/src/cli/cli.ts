// warren-coordinator's command line: serve, or an admin command. Exit codes: 0 ok, 1 refused or
// failed (with a message), 2 usage.
import { ADMIN_USAGE, runKeys, runSystems } from './admin.js';
import { runPolicy } from './policy.js';
import { EXIT, Failure, UsageError, type CliIo } from '../../../src-shared/lib/cli-args.js';
import { KEY_USAGE, runKey } from './key.js';
import { runAudit } from './audit.js';
import { runUsers } from './users.js';
import { runServe, SERVE_USAGE } from './serve.js';
import { RELAY_KEY_USAGE, runRelayKey } from '../nat/secret.js';

/** USAGE is the whole help text. */
export const USAGE = `usage: ${SERVE_USAGE}
       warren-coordinator key|keys|systems|policy|audit|users ...
       warren-coordinator ${RELAY_KEY_USAGE}

The control plane of Warren: enrolment keys, systems and their virtual addresses, the policy
file, and signed network maps pushed to every helper. See docs/coordinator.md.

${ADMIN_USAGE}

${KEY_USAGE}
`;

/** runCli runs one command line. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    if (
      cmd === undefined ||
      cmd === 'help' ||
      cmd === '--help' ||
      cmd === '-h' ||
      rest.includes('--help') ||
      rest.includes('-h')
    ) {
      io[cmd === undefined ? 'stderr' : 'stdout'].write(USAGE);
      return cmd === undefined ? EXIT.usage : EXIT.ok;
    }
    switch (cmd) {
      case 'serve':
        return await runServe(rest, io);
      case 'key':
        return runKey(rest, io);
      case 'keys':
        return await runKeys(rest, io);
      case 'systems':
        return await runSystems(rest, io);
      case 'policy':
        return await runPolicy(rest, io);
      case 'audit':
        return await runAudit(rest, io);
      case 'users':
        return await runUsers(rest, io);
      case 'relay-key':
        return runRelayKey(rest, io);
      default:
        io.stderr.write(`warren-coordinator: unknown command ${JSON.stringify(cmd.slice(0, 40))}\n\n${USAGE}`);
        return EXIT.usage;
    }
  } catch (e) {
    if (e instanceof UsageError) {
      // One line saying what is wrong: the whole usage buried the mistake.
      io.stderr.write(`warren-coordinator: ${e.message}\nRun 'warren-coordinator ${cmd} --help' for usage.\n`);
      return EXIT.usage;
    }
    if (e instanceof Failure) {
      io.stderr.write(`warren-coordinator: ${e.message}\n`);
      return EXIT.failure;
    }
    io.stderr.write(`warren-coordinator: ${(e as Error).message}\n`);
    return EXIT.failure;
  }
}
