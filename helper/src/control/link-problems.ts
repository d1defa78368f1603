// What `warren status` says about the coordinator when something needs the person: each
// problem names what is wrong and what to do about it (docs/cli.md, "warren status").
import type { CoordinatorSummary } from '../../../src-shared/wire/status.js';

/** UNREACHABLE_PROBLEM_MS: the watch redials within 1.5 s of a coordinator's return
 * (watch.ts), so an outage this long is no restart or blip: the person should hear of it. */
export const UNREACHABLE_PROBLEM_MS = 20_000;

/** ProblemContext is what the advice needs beyond the summary. */
export interface ProblemContext {
  /** approveAs is the name the admin approves this system by (its identity, else its id). */
  approveAs: string;
  profilePath: string;
  now: number;
}

const said = (d: string | null | undefined): string => (d ? ` (${d})` : '');

/** coordinatorProblems lists the coordinator problems for a summary, or none. */
export function coordinatorProblems(c: CoordinatorSummary, x: ProblemContext): string[] {
  const since = c.since ?? x.now;
  const kept = c.mapVersion > 0 ? `map version ${c.mapVersion} stays in force` : 'this system has no map and no peers';
  switch (c.condition) {
    case 'pending-approval':
      return [
        `waiting for an admin to approve this system: on the coordinator, run \`warren-coordinator systems approve ${x.approveAs}\``,
      ];
    case 'connecting':
    case 'unreachable':
    case 'error': {
      const secs = Math.floor((x.now - since) / 1000);
      if (x.now - since < UNREACHABLE_PROBLEM_MS) return [];
      const what =
        c.condition === 'error'
          ? `the coordinator at ${c.url} has refused to serve this system`
          : `the coordinator at ${c.url} has not answered`;
      return [`${what} for ${secs} s${said(c.detail)}; ${kept}. Check that it runs and that this machine can reach it`];
    }
    case 'bad-signature':
      return [
        `the coordinator's key does not match the pinned key (Coordinator.PublicKey in ${x.profilePath}), so its maps are refused and ${kept}. ` +
          'If the coordinator was given a new key, enrol again with `warren enrol --coordinator-key KEY` (the key `warren-coordinator key` prints); ' +
          'otherwise something else answers at that address',
      ];
    case 'rejected':
      return [
        `the coordinator refuses this system's machine key or system id${said(c.detail)}; ${kept}. ` +
          `Enrol again with a new enrolment key (\`warren enrol\`), or fix the clock if it says the clock is off`,
      ];
    case 'revoked':
      return [
        `an admin revoked this system on the coordinator${said(c.detail)}; every tunnel is down. Enrol again with a new enrolment key to rejoin`,
      ];
    case 'key-mismatch':
      return [
        `this profile's PrivateKey is not the key this system enrolled with${said(c.detail)}: peers expect the enrolled key and reach nobody. ` +
          `Put the enrolled PrivateKey back in ${x.profilePath}, or enrol again (\`warren enrol\`) to register this key`,
      ];
    case 'map-refused':
      return [`the coordinator's latest map was refused${said(c.detail)}; ${kept}`];
    default:
      return [];
  }
}
