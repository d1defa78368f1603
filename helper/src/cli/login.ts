// `warren login`: enrol this system by signing in with the organisation's identity provider
// (helper/src/control/login.ts does the work). Headless servers keep using `warren enrol` with
// an enrolment key.
import { spawn } from 'node:child_process';
import { login, LoginCancelled } from '../control/login.js';
import { InsecureEnrolment, insecureRefusal } from '../control/enrol.js';
import { booleanFlag, CliError, EXIT, intFlag, requiredFlag, stringFlag, type Command } from './command.js';
import { ENROL_OPTIONS, enrolledName, reportEnrolment } from './enrol.js';
import { effectiveUid, preflightEnrol } from './preflight.js';
import { resolvePath } from './paths.js';

/** SHARED are enrol's flags but the enrolment key. */
const SHARED = Object.fromEntries(Object.entries(ENROL_OPTIONS).filter(([k]) => k !== 'key')) as Omit<
  typeof ENROL_OPTIONS,
  'key'
>;

/** loginCommand is `warren login`. */
export const loginCommand: Command = {
  name: 'login',
  summary: "enrol this system by signing in with your organisation's identity provider",
  usage:
    'warren login --coordinator URL [--provider NAME] [--coordinator-key KEY | --insecure] [--no-browser] [--allow-full-tunnel] [--serve-exit-node] [--profile FILE] [--state-dir DIR] [--hostname NAME] [--adapter NAME] [--port N]',
  details: `
Enrols this system as yours: prints a URL (and opens a browser when there is a desktop), you
sign in there with your organisation's account, and the coordinator enrols the system with the
tags its administrator gives your groups (the policy file's AutoTags). No enrolment key is
needed. After you sign in, the coordinator's page names this system and shows a code: check it
is the one printed here, then press Confirm (Cancel if it is not: someone else's link would
enrol their system as yours). Signing in again from an enrolled system keeps its identity and
address and updates its tags. Ctrl-C while it waits cancels the sign-in at the coordinator, so
its URL no longer enrols anything.

Everything else is as \`warren enrol\`: the keys, the pinned coordinator key, the profile.

  --coordinator URL      the coordinator, e.g. https://coord.example.com:8443
  --provider NAME        the identity provider to sign in with (default: the coordinator's first)
  --coordinator-key KEY  the coordinator's public key: refuse unless the coordinator presents it
  --insecure             over http:// without --coordinator-key, pin whatever key answers
  --no-browser           only print the URL
  (the other flags as for warren enrol)`,
  options: { ...SHARED, provider: { type: 'string' }, 'no-browser': { type: 'boolean' } },
  async run(args, io) {
    const profilePath = resolvePath('profile', args, io);
    const stateDir = resolvePath('stateDir', args, io);
    const coordinator = requiredFlag(args, 'coordinator', 'URL');
    preflightEnrol('login', { profilePath, stateDir }, effectiveUid());
    const browser = !booleanFlag(args, 'no-browser');
    // Ctrl-C or a SIGTERM while waiting cancels the login at the coordinator too, so the URL
    // already printed (perhaps already sent somewhere) stops enrolling anything.
    const stop = new AbortController();
    const onSignal = (): void => stop.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    try {
      const outcome = await login({
        coordinator,
        provider: stringFlag(args, 'provider'),
        coordinatorKey: stringFlag(args, 'coordinator-key'),
        insecure: booleanFlag(args, 'insecure'),
        allowFullTunnel: booleanFlag(args, 'allow-full-tunnel'),
        serveExitNode: booleanFlag(args, 'serve-exit-node'),
        hostname: stringFlag(args, 'hostname'),
        adapterName: stringFlag(args, 'adapter'),
        listenPort: intFlag(args, 'port', 0, 65535),
        profilePath,
        stateDir,
        signal: stop.signal,
        onStart: (r) => {
          io.stdout.write(
            `To sign in with ${r.provider}, open this URL in a browser:\n\n  ${r.url}\n\n` +
              `After you sign in, the page shows the code ${r.code}: press Confirm only if it is this code. ` +
              'Waiting for you to sign in (Ctrl-C cancels)...\n',
          );
          if (browser) openBrowser(r.url);
        },
      });
      io.stdout.write(`Signed in as ${outcome.user}.\n`);
      reportEnrolment(outcome, coordinator, io);
      if (outcome.response.state === 'pending') {
        const name = enrolledName(outcome.response);
        io.stdout.write(
          `This system waits for approval: an administrator runs \`warren-coordinator systems approve ${outcome.response.identity}\`${name ? ` (or ${name})` : ''}.\n`,
        );
      }
      io.stdout.write('Start or restart the helper to connect (warren run, or warren start).\n');
      return EXIT.ok;
    } catch (e) {
      if (e instanceof LoginCancelled) {
        io.stdout.write(`Sign-in cancelled: ${e.told ? 'its URL no longer enrols anything.' : e.message}\n`);
        return EXIT.failure;
      }
      const message =
        e instanceof InsecureEnrolment
          ? insecureRefusal('add --coordinator-key KEY', '--insecure signs in without the check')
          : (e as Error).message;
      throw new CliError(message.replace(/^(warren [a-z-]+: )+/, ''), EXIT.failure);
    } finally {
      process.removeListener('SIGINT', onSignal);
      process.removeListener('SIGTERM', onSignal);
    }
  },
};

/** openBrowser opens url with the desktop's handler when there is a desktop; failing that,
 * the printed URL is the way. */
function openBrowser(url: string): void {
  if (!process.env.DISPLAY && !process.env.WAYLAND_DISPLAY) return;
  try {
    const child = spawn('xdg-open', [url], { stdio: 'ignore', detached: true });
    child.on('error', () => {});
    child.unref();
  } catch {
    // No xdg-open: the URL is printed.
  }
}
