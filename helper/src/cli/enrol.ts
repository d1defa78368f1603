// `warren enrol`: join a coordinator's network (helper/src/control/enrol.ts does the work).
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { enrol } from '../control/enrol.js';
import { CliError, EXIT, intFlag, requiredFlag, stringFlag, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** enrolCommand is `warren enrol`. */
export const enrolCommand: Command = {
  name: 'enrol',
  summary: 'enrol this system with a coordinator',
  usage:
    'warren enrol --coordinator URL --key KEY [--profile FILE] [--state-dir DIR] [--coordinator-key KEY] [--hostname NAME] [--port N]',
  details: `
Enrols this system with a Warren coordinator using an enrolment key from its administrator
(warren-coordinator keys create). Generates the WireGuard key and an Ed25519 machine key if the
profile has none, pins the coordinator's public key, and writes a coordinated profile with the
address the coordinator gives. Enrolling again with the same profile keeps the identity and
address. Restart the helper afterwards (warren stop/start, or warren run).

  --coordinator URL      the coordinator, e.g. https://coord.example.com:8443
  --key KEY              the enrolment key
  --coordinator-key KEY  refuse unless the coordinator presents this public key
  --profile FILE         profile to write (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  --state-dir DIR        where the first network map is kept (env WARREN_STATE_DIR, default /var/lib/warren)
  --hostname NAME        name to register (default: this machine's host name)
  --port N               UDP listen port to write into the profile`,
  options: {
    coordinator: { type: 'string' },
    key: { type: 'string' },
    'coordinator-key': { type: 'string' },
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
        hostname: stringFlag(args, 'hostname'),
        listenPort: intFlag(args, 'port', 0, 65535),
        profilePath,
        stateDir,
      });
    } catch (e) {
      throw new CliError(`warren enrol: ${(e as Error).message}`, EXIT.failure);
    }
    const r = out.response;
    io.stdout.write(
      `Enrolled as ${r.identity} (${r.systemId}), address ${r.virtualAddress}` +
        `${r.tags.length ? `, tags ${r.tags.join(', ')}` : ''}\nCoordinator key pinned: ${r.coordinatorPublicKey}\nProfile: ${out.profilePath}\n`,
    );
    if (r.state === 'pending')
      io.stdout.write(
        'This system waits for approval: an administrator runs `warren-coordinator systems approve ' +
          r.identity +
          '`.\n',
      );
    io.stdout.write('Start or restart the helper to connect (warren run, or warren start).\n');
    return EXIT.ok;
  },
};
