// `warren logout`: sign this system out of the coordinator's network it joined with `warren
// login`. The coordinator revokes it (ending its connections to every peer); the profile keeps
// its local settings but loses its coordinator link and gets a new WireGuard key, since a revoked
// key can never enrol again, so `warren login` can enrol the system afresh.
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { LOGIN_PATHS } from '../../../src-shared/wire/login.js';
import { formatKey, generatePrivateKey } from '../../../src-shared/lib/keys.js';
import { readProfile, saveProfile } from '../config/load.js';
import { controlRequest } from '../control/http.js';
import { machineKeyFromSeed } from '../control/sign.js';
import { CliError, EXIT, type Command } from './command.js';
import { resolvePath } from './paths.js';

/** logoutCommand is `warren logout`. */
export const logoutCommand: Command = {
  name: 'logout',
  summary: 'sign this system out of the network it joined with warren login (the coordinator revokes it)',
  usage: 'warren logout [--profile FILE] [--state-dir DIR]',
  details: `
Signs this system out: the coordinator revokes it, so every peer stops accepting it within a
second, and the profile loses its coordinator link and gets a new WireGuard key (the revoked
one can never enrol again). Stop the helper afterwards (warren stop); \`warren login\` enrols
the system again. A system enrolled with an enrolment key is revoked by its administrator
instead (warren-coordinator systems revoke), and this command says so.

  --profile FILE         profile (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  --state-dir DIR        state directory whose stored network map goes too (env WARREN_STATE_DIR)`,
  options: { profile: { type: 'string' }, 'state-dir': { type: 'string' } },
  async run(args, io) {
    const profilePath = resolvePath('profile', args, io);
    const stateDir = resolvePath('stateDir', args, io);
    const loaded = readProfile(profilePath);
    const c = loaded.profile.coordinator;
    if (!c)
      throw new CliError(`${profilePath} is not enrolled with a coordinator; nothing to sign out of`, EXIT.failure);
    try {
      await controlRequest({
        base: c.url,
        method: 'POST',
        path: LOGIN_PATHS.logout,
        body: {},
        auth: { key: machineKeyFromSeed(c.machineKey), systemId: c.systemId },
        timeoutMs: 15_000,
      });
    } catch (e) {
      throw new CliError((e as Error).message, EXIT.failure);
    }
    const next: Record<string, unknown> = { ...loaded.json, PrivateKey: formatKey(generatePrivateKey()) };
    delete next.Coordinator;
    saveProfile(profilePath, next);
    rmSync(join(stateDir, 'netmap.json'), { force: true });
    io.stdout.write(
      `Signed out: ${c.url} revoked this system (${c.identity ?? c.systemId}). Stop the helper (warren stop); warren login enrols it again.\n`,
    );
    return EXIT.ok;
  },
};
