// preflightEnrol: what `warren enrol` and `warren up --coordinator` check before the enrolment
// key goes to the coordinator. A key is used up by the enrolment itself (most are one-use), so a
// system that enrols and then cannot write its profile, or whose helper can never start, has
// spent the key for nothing and left a system in the coordinator's list that never connects.
import { accessSync, constants, existsSync, mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { CliError, EXIT } from './command.js';

/** EnrolPaths are where enrolment writes: the profile and the state directory. */
export interface EnrolPaths {
  profilePath: string;
  stateDir: string;
}

/** preflightEnrol throws a CliError saying what to do unless this process runs as root and can
 * write the profile and the state directory (creating their directories as the helper would).
 * uid is the effective user id (process.geteuid), null where the platform has none. */
export function preflightEnrol(command: string, paths: EnrolPaths, uid: number | null): void {
  // The helper creates a TUN device, routes and firewall rules, which need root (CAP_NET_ADMIN);
  // a profile enrolled by another user belongs to a helper that can never run.
  if (uid !== null && uid !== 0) {
    throw new CliError(
      `must run as root: the helper needs root to create the network adapter, and the profile and ` +
        `state it uses belong to root. Run it again with sudo: \`sudo warren ${command} ...\`. ` +
        'Nothing was sent to the coordinator, so the enrolment key is still unused',
      EXIT.failure,
    );
  }
  writableDir(dirname(paths.profilePath), 'the profile', '--profile FILE or WARREN_PROFILE');
  if (existsSync(paths.profilePath)) writableFile(paths.profilePath);
  writableDir(paths.stateDir, 'the state directory', '--state-dir DIR or WARREN_STATE_DIR');
}

function writableDir(dir: string, what: string, choose: string): void {
  try {
    mkdirSync(dir, { recursive: true, mode: 0o755 });
    accessSync(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new CliError(
      `cannot write ${what} in ${dir} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}): ` +
        `choose another place with ${choose}. Nothing was sent to the coordinator`,
      EXIT.failure,
    );
  }
}

function writableFile(path: string): void {
  try {
    accessSync(path, constants.R_OK | constants.W_OK);
  } catch (e) {
    throw new CliError(
      `cannot rewrite the profile ${path} (${(e as NodeJS.ErrnoException).code ?? 'not writable'}): ` +
        'choose another profile with --profile FILE. Nothing was sent to the coordinator',
      EXIT.failure,
    );
  }
}

/** effectiveUid is this process's effective user id, or null on platforms without one. */
export function effectiveUid(): number | null {
  return typeof process.geteuid === 'function' ? process.geteuid() : null;
}
