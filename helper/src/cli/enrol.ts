// `warren enrol`: join a coordinator's network (helper/src/control/enrol.ts does the work).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { enrol, InsecureEnrolment, insecureRefusal, type EnrolOutcome } from '../control/enrol.js';
import { booleanFlag, CliError, EXIT, intFlag, requiredFlag, stringFlag, type CliIo, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** enrolCommand is `warren enrol`. */
export const enrolCommand: Command = {
  name: 'enrol',
  summary: 'enrol this system with a coordinator',
  usage:
    'warren enrol --coordinator URL --key KEY [--coordinator-key KEY | --insecure] [--allow-full-tunnel] [--serve-exit-node] [--profile FILE] [--state-dir DIR] [--hostname NAME] [--port N]',
  details: `
Enrols this system with a Warren coordinator using an enrolment key from its administrator
(warren-coordinator keys create). Generates the WireGuard key and an Ed25519 machine key if the
profile has none, pins the coordinator's public key, and writes a coordinated profile with the
address the coordinator gives. Enrolling again with the same profile keeps the identity and
address. Restart the helper afterwards (warren stop/start, or warren run).

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
  --port N               UDP listen port to write into the profile`,
  options: {
    coordinator: { type: 'string' },
    key: { type: 'string' },
    'coordinator-key': { type: 'string' },
    insecure: { type: 'boolean' },
    'allow-full-tunnel': { type: 'boolean' },
    'serve-exit-node': { type: 'boolean' },
    profile: { type: 'string' },
    'state-dir': { type: 'string' },
    hostname: { type: 'string' },
    port: { type: 'string' },
  },
  async run(args, io) {
    const profilePath = resolvePath('profile', args, io);
    const stateDir = resolvePath('stateDir', args, io);
    const coordinator = requiredFlag(args, 'coordinator', 'URL');
    const key = requiredFlag(args, 'key', 'KEY');
    let out;
    try {
      mkdirSync(dirname(profilePath), { recursive: true, mode: 0o755 });
      out = await enrol({
        coordinator,
        key,
        coordinatorKey: stringFlag(args, 'coordinator-key'),
        insecure: booleanFlag(args, 'insecure'),
        allowFullTunnel: booleanFlag(args, 'allow-full-tunnel'),
        serveExitNode: booleanFlag(args, 'serve-exit-node'),
        hostname: stringFlag(args, 'hostname'),
        listenPort: intFlag(args, 'port', 0, 65535),
        profilePath,
        stateDir,
      });
    } catch (e) {
      const message =
        e instanceof InsecureEnrolment
          ? insecureRefusal('add --coordinator-key KEY', '--insecure enrols without the check')
          : (e as Error).message;
      throw new CliError(message, EXIT.failure);
    }
    report(out, coordinator, io);
    return EXIT.ok;
  },
};

/** report tells the person what enrolment did, and how far the pinned key was checked. */
function report(out: EnrolOutcome, coordinator: string, io: CliIo): void {
  const r = out.response;
  const checked = out.keyChecked
    ? 'the key you gave'
    : 'not checked against a key you gave: compare the fingerprint with what your administrator has';
  // The name is shown only as a DNS label: it is the coordinator's text, printed to a terminal.
  const name = typeof r.name === 'string' && /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(r.name) ? r.name : null;
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
  if (r.state === 'pending')
    io.stdout.write(
      'This system waits for approval: an administrator runs `warren-coordinator systems approve ' +
        r.identity +
        '`' +
        (name ? ` (or approve ${name}, its name there)` : '') +
        '; `warren status` shows the wait.\n',
    );
  io.stdout.write('Start or restart the helper to connect (warren run, or warren start).\n');
}
