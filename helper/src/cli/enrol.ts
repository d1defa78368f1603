// `warren enrol`: join a coordinator's network (helper/src/control/enrol.ts does the work).
import { enrol, InsecureEnrolment, insecureRefusal, type EnrolOutcome } from '../control/enrol.js';
import {
  booleanFlag,
  CliError,
  EXIT,
  intFlag,
  requiredFlag,
  stringFlag,
  type CliIo,
  type Command,
  type ParsedArgs,
} from './command.js';
import { effectiveUid, preflightEnrol } from './preflight.js';
import { resolvePath } from './paths.js';

/** ENROL_OPTIONS are the flags `warren enrol` and `warren up --coordinator` share. */
export const ENROL_OPTIONS = {
  coordinator: { type: 'string' },
  key: { type: 'string' },
  'coordinator-key': { type: 'string' },
  insecure: { type: 'boolean' },
  'allow-full-tunnel': { type: 'boolean' },
  'serve-exit-node': { type: 'boolean' },
  profile: { type: 'string' },
  'state-dir': { type: 'string' },
  hostname: { type: 'string' },
  adapter: { type: 'string' },
  port: { type: 'string' },
} as const satisfies Command['options'];

/** enrolCommand is `warren enrol`. */
export const enrolCommand: Command = {
  name: 'enrol',
  summary: 'enrol this system with a coordinator',
  usage:
    'warren enrol --coordinator URL --key KEY [--coordinator-key KEY | --insecure] [--allow-full-tunnel] [--serve-exit-node] [--profile FILE] [--state-dir DIR] [--hostname NAME] [--adapter NAME] [--port N]',
  details: `
Enrols this system with a Warren coordinator using an enrolment key from its administrator
(warren-coordinator keys create). Generates the WireGuard key and an Ed25519 machine key if the
profile has none, pins the coordinator's public key, and writes a coordinated profile with the
address the coordinator gives. Enrolling again with the same profile keeps the identity and
address. Restart the helper afterwards (warren stop/start, or warren run); \`warren up
--coordinator URL --key KEY\` enrols and starts the helper in one step.

It must run as root (the helper it enrols for needs root), and it checks that the profile and
the state directory are writable before the key is sent, so a failed attempt leaves the key
unused.

Every network map must be signed with the pinned key, so it must be the coordinator's own: ask
its administrator for it (warren-coordinator key prints it). Over plain http:// enrolling needs
it, since anyone on the network path could answer with their own; over https:// it is checked
when given.

  --coordinator URL      the coordinator, e.g. https://coord.example.com:8443
  --key KEY              the enrolment key
  --coordinator-key KEY  the coordinator's public key: refuse unless the coordinator presents it
  --insecure             over http:// without --coordinator-key, pin whatever key answers
                         (only on a network you trust)
  --allow-full-tunnel    let the coordinator route all of this system's traffic through an exit
                         node (0.0.0.0/0); without it such a route is ignored and reported
  --serve-exit-node      let the coordinator make this system an exit node (forwarding and NAT
                         for the subnets its Routes name); without it they are left unserved
                         and reported
  --profile FILE         profile to write (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  --state-dir DIR        where the first network map is kept (env WARREN_STATE_DIR, default /var/lib/warren)
  --hostname NAME        name to register (default: this machine's host name)
  --adapter NAME         network adapter (TUN device) to write into the profile (default warren0)
  --port N               UDP listen port to write into the profile`,
  options: ENROL_OPTIONS,
  async run(args, io) {
    const { outcome, coordinator } = await enrolFromFlags(args, io, 'enrol');
    reportEnrolment(outcome, coordinator, io);
    if (outcome.response.state === 'pending') {
      const name = enrolledName(outcome.response);
      io.stdout.write(
        'This system waits for approval: an administrator runs `warren-coordinator systems approve ' +
          outcome.response.identity +
          '`' +
          (name ? ` (or approve ${name}, its name there)` : '') +
          '; `warren status` shows the wait.\n',
      );
    }
    io.stdout.write(
      'Start or restart the helper to connect (warren run, or warren start), or use `warren up` next time.\n',
    );
    return EXIT.ok;
  },
};

/** enrolFromFlags checks that this system can use what it enrols (root, writable profile and
 * state directory) before the key leaves it, then enrols with the command's flags. */
export async function enrolFromFlags(
  args: ParsedArgs,
  io: CliIo,
  command: string,
): Promise<{ outcome: EnrolOutcome; coordinator: string }> {
  const profilePath = resolvePath('profile', args, io);
  const stateDir = resolvePath('stateDir', args, io);
  const coordinator = requiredFlag(args, 'coordinator', 'URL');
  const key = requiredFlag(args, 'key', 'KEY');
  const listenPort = intFlag(args, 'port', 0, 65535);
  preflightEnrol(command, { profilePath, stateDir }, effectiveUid());
  try {
    const outcome = await enrol({
      coordinator,
      key,
      coordinatorKey: stringFlag(args, 'coordinator-key'),
      insecure: booleanFlag(args, 'insecure'),
      allowFullTunnel: booleanFlag(args, 'allow-full-tunnel'),
      serveExitNode: booleanFlag(args, 'serve-exit-node'),
      hostname: stringFlag(args, 'hostname'),
      adapterName: stringFlag(args, 'adapter'),
      listenPort,
      profilePath,
      stateDir,
    });
    return { outcome, coordinator };
  } catch (e) {
    const message =
      e instanceof InsecureEnrolment
        ? insecureRefusal('add --coordinator-key KEY', '--insecure enrols without the check')
        : (e as Error).message;
    // The command line's report adds `warren COMMAND: `; a message that already carries it
    // (an error passed through from another layer) must not get it twice.
    throw new CliError(message.replace(/^(warren [a-z-]+: )+/, ''), EXIT.failure);
  }
}

/** enrolledName is the system's name at the coordinator, shown only as a DNS label (it is the
 * coordinator's text, printed to a terminal), or null (an older coordinator sends none). */
export function enrolledName(r: EnrolOutcome['response']): string | null {
  return typeof r.name === 'string' && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(r.name) ? r.name : null;
}

/** reportEnrolment tells the person what enrolment did, and how far the pinned key was checked. */
export function reportEnrolment(out: EnrolOutcome, coordinator: string, io: CliIo): void {
  const r = out.response;
  const checked = out.keyChecked
    ? 'the key you gave'
    : 'not checked against a key you gave: compare the fingerprint with what your administrator has';
  const name = enrolledName(r);
  io.stdout.write(
    `Enrolled as ${r.identity}${name ? ` (name ${name}, ${r.systemId})` : ` (${r.systemId})`}, address ${r.virtualAddress}` +
      `${typeof r.virtualAddress6 === 'string' && out.ipv6Withheld === null ? ` and ${r.virtualAddress6}` : ''}` +
      `${r.tags.length ? `, tags ${r.tags.join(', ')}` : ''}\nCoordinator key pinned: ${r.coordinatorPublicKey}\n` +
      `Fingerprint: ${out.fingerprint} (${checked})\nProfile: ${out.profilePath}\n`,
  );
  if (out.ipv6Withheld !== null) io.stderr.write(`warning: ${out.ipv6Withheld}; this system runs IPv4 only\n`);
  if (out.allowFullTunnel)
    io.stdout.write(
      "Full tunnel allowed: the coordinator may route all of this system's traffic through an exit node " +
        '(Coordinator.AllowFullTunnel in the profile).\n',
    );
  if (out.serveExitNode)
    io.stdout.write(
      'Exit node allowed: the coordinator may have this system forward and NAT traffic for the subnets ' +
        'its Routes name (ExitNode.Serve in the profile).\n',
    );
  if (!out.keyChecked && /^http:\/\//i.test(coordinator))
    io.stderr.write(
      'warning: enrolled over plain http:// without checking the coordinator key (--insecure); ' +
        "anyone on the path could have answered: compare the fingerprint above with the administrator's " +
        '(warren-coordinator key) before you start the helper\n',
    );
}
