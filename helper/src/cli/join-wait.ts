// waitUntilConnected: the last step of `warren up --coordinator`, watching the helper's status
// (GET /v1/status, its coordinator condition, src-shared/wire/status.ts) until the system is
// connected, printing each change. Waiting for an administrator's approval is not a failure:
// at the timeout it exits 0 saying the helper keeps running and connects once approved. Any
// other condition still standing at the timeout is (exit 1), with what the helper last saw.
// Ctrl-C stops the waiting only; the helper was started to keep running.
import { setTimeout as sleep } from 'node:timers/promises';
import { ApiClient, HelperNotRunning } from '../../../src-shared/lib/helper-client/client.js';
import { cliErrorOf } from './api-call.js';
import type { Status } from '../../../src-shared/wire/status.js';
import { CliError, EXIT } from './command.js';

/** WaitOptions: the helper's socket, how long to wait, where its log is, and how to print. */
export interface WaitOptions {
  socketPath: string;
  timeoutMs: number;
  log: string;
  say: (s: string) => void;
  /** stopHint says how to stop the helper (service, or the detached pid). */
  stopHint: string;
  pollMs?: number;
}

/** Conditions after which waiting cannot help: the person or the administrator must act. */
const FINAL = new Set(['revoked', 'key-mismatch', 'bad-signature']);

/** waitUntilConnected returns the exit code for `warren up`. */
export async function waitUntilConnected(o: WaitOptions): Promise<number> {
  const client = new ApiClient(o.socketPath);
  const deadline = Date.now() + o.timeoutMs;
  let interrupted = false;
  const onInt = (): void => {
    interrupted = true;
  };
  process.once('SIGINT', onInt);
  let last = '';
  let s: Status | null = null;
  try {
    while (!interrupted) {
      s = await statusOrNull(client);
      const cond = conditionOf(s);
      if (cond !== last) {
        last = cond;
        announce(cond, s, o.say);
      }
      if (cond === 'connected') return EXIT.ok;
      if (FINAL.has(cond))
        throw new CliError(
          `the coordinator link is ${cond}: ${s?.coordinator?.detail ?? s?.coordinator?.lastError ?? 'see the log'}; ` +
            `the helper keeps running (${o.stopHint}); log ${o.log}`,
        );
      if (Date.now() >= deadline) return timedOut(cond, s, o);
      await sleep(o.pollMs ?? 500);
    }
    o.say(
      `stopped waiting; the helper keeps running and keeps trying. \`warren status\` shows how it stands; ${o.stopHint}`,
    );
    return 130;
  } finally {
    process.removeListener('SIGINT', onInt);
  }
}

async function statusOrNull(client: ApiClient): Promise<Status | null> {
  try {
    return await client.status();
  } catch (e) {
    // A helper restarting answers again in a moment; anything else (denied, untrusted) will not.
    if (e instanceof HelperNotRunning) return null;
    throw cliErrorOf(e, client.socketPath);
  }
}

/** conditionOf reduces a status to one word; a static profile has no coordinator. */
function conditionOf(s: Status | null): string {
  if (s === null) return 'no-answer';
  if (s.starting === true) return 'starting';
  if (s.mode !== 'coordinated' || s.coordinator === undefined) return 'static';
  return s.coordinator.condition ?? (s.coordinator.reachable ? 'connected' : 'connecting');
}

function announce(cond: string, s: Status | null, say: (s: string) => void): void {
  const detail = s?.coordinator?.detail ?? s?.coordinator?.lastError ?? null;
  switch (cond) {
    case 'connected':
      say(
        `connected: ${s!.identity}, ${s!.virtualAddress}${s!.virtualAddress6 ? ` and ${s!.virtualAddress6}` : ''}, ` +
          `${s!.peers.length} peer${s!.peers.length === 1 ? '' : 's'} in the map; \`warren status\` shows more`,
      );
      return;
    case 'pending-approval':
      say(
        'waiting for approval: an administrator runs ' +
          `\`warren-coordinator systems approve ${s!.identity}\`; this system connects as soon as it is approved`,
      );
      return;
    case 'starting':
      say('the helper is setting up the adapter and the tunnel');
      return;
    case 'connecting':
      say(`connecting to ${s!.coordinator!.url}`);
      return;
    case 'no-answer':
      say('the helper does not answer on its socket; waiting');
      return;
    case 'static':
      throw new CliError(
        'the helper on this socket runs a profile without a coordinator (another profile); stop it ' +
          '(`warren stop`, or end its process) and run this `warren up` again',
      );
    default:
      say(`coordinator ${cond}${detail ? `: ${detail}` : ''}; still trying`);
  }
}

function timedOut(cond: string, s: Status | null, o: WaitOptions): number {
  const secs = Math.round(o.timeoutMs / 1000);
  if (cond === 'pending-approval') {
    o.say(
      `still waiting for approval after ${secs} s; the helper keeps running and connects once ` +
        `\`warren-coordinator systems approve ${s!.identity}\` is run. \`warren status\` shows it`,
    );
    return EXIT.ok;
  }
  const detail = s?.coordinator?.detail ?? s?.coordinator?.lastError ?? null;
  throw new CliError(
    `not connected after ${secs} s (${cond}${detail ? `: ${detail}` : ''}); the helper keeps running and keeps ` +
      `trying: \`warren status\` shows how it stands, its log is ${o.log}; ${o.stopHint}`,
  );
}
