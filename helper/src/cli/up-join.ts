// `warren up --coordinator URL --key KEY`: join a coordinated network in one step, as
// `tailscale up --login-server --authkey` does. Each step is printed as it happens: the
// privilege and path check (before the key leaves this system), the enrolment (enrol.ts, or
// none when the profile is already enrolled with that coordinator, so no key use is spent
// again), then a helper running the profile (helper-launch.ts), then waiting until the
// coordinator link is connected (join-wait.ts). Plain `warren up` keeps its meaning: reconnect
// a running helper after `warren down`.
import { existsSync } from 'node:fs';
import { readProfile, saveProfile } from '../config/load.js';
import { isObject } from '../../../src-shared/lib/errors.js';
import { intFlag, requiredFlag, stringFlag, UsageError, type CliIo, type Command, type ParsedArgs } from './command.js';
import { ENROL_OPTIONS, enrolFromFlags } from './enrol.js';
import { startOrReloadHelper, type Launched } from './helper-launch.js';
import { waitUntilConnected } from './join-wait.js';
import { resolvePath } from './paths.js';
import { effectiveUid, preflightEnrol } from './preflight.js';

/** DEFAULT_WAIT_S bounds the wait for the connection; approval can take longer (exit 0 then). */
export const DEFAULT_WAIT_S = 120;

const JOIN_USAGE =
  'warren up --coordinator URL --key KEY [--coordinator-key KEY | --insecure] [--adapter NAME] [--hostname NAME] ' +
  '[--serve-exit-node] [--allow-full-tunnel] [--port N] [--timeout SECONDS] [--profile FILE] [--state-dir DIR] [--socket PATH]';

const JOIN_DETAILS = `
With --coordinator, joins a coordinated network in one step: checks that it runs as root and
can write the profile and state directory (before the key is sent), enrols with the key (as
\`warren enrol\`), starts the helper or makes a running one re-read its profile, and waits until
the system is connected. Where systemd runs the packaged ${'warren-helper.service'} with the
default paths, the service is started; elsewhere (containers, namespaces) \`warren run\` is
started in the background, logging to helper.log in the state directory (its pid in helper.pid).

A system already enrolled with that coordinator (its profile names the same URL) is not
enrolled again: no key use is spent, the helper is just started or reloaded.

Waiting for an administrator's approval prints the approve command and keeps waiting; when
--timeout passes while approval is still pending, it exits 0: the helper keeps running and
connects once approved. Any other failure to connect exits 1 at the timeout. Ctrl-C stops the
waiting; the helper keeps running.

  --coordinator URL      the coordinator, e.g. https://coord.example.com:8443
  --key KEY              the enrolment key (warren-coordinator keys create)
  --coordinator-key KEY  the coordinator's public key (warren-coordinator key); needed over http://
  --insecure             over http:// without --coordinator-key, pin whatever key answers
  --adapter NAME         network adapter (TUN device) name to write into the profile
  --hostname NAME        name to register (default: this machine's host name)
  --serve-exit-node      let the coordinator make this system an exit node
  --allow-full-tunnel    let the coordinator route all traffic through an exit node
  --port N               UDP listen port to write into the profile
  --timeout SECONDS      how long to wait for the connection (default ${DEFAULT_WAIT_S}; 0 does not wait)
  --profile FILE         profile (env WARREN_PROFILE, default /etc/warren/profiles/Universe.profile)
  --state-dir DIR        state directory (env WARREN_STATE_DIR, default /var/lib/warren)
  --socket PATH          local API socket (env WARREN_SOCKET, default /run/warren/warren.sock)`;

/** withJoin extends the plain `warren up` with the one-step join. */
export function withJoin(plain: Command): Command {
  return {
    ...plain,
    usage: `${plain.usage}\n       ${JOIN_USAGE}`,
    details: `${plain.details}\n${JOIN_DETAILS}`,
    options: { ...plain.options, ...ENROL_OPTIONS, timeout: { type: 'string' } },
    async run(args, io) {
      if (stringFlag(args, 'coordinator') !== undefined) return join(args, io);
      const joinOnly = Object.keys(args.values).find((k) => k !== 'socket' && args.values[k] !== undefined);
      if (joinOnly !== undefined)
        throw new UsageError(`--${joinOnly} is for joining a network and needs --coordinator URL --key KEY`);
      return plain.run(args, io);
    },
  };
}

async function join(args: ParsedArgs, io: CliIo): Promise<number> {
  const say = (s: string): void => void io.stdout.write(`warren up: ${s}\n`);
  const coordinator = requiredFlag(args, 'coordinator', 'URL');
  const timeoutS = intFlag(args, 'timeout', 0, 86_400) ?? DEFAULT_WAIT_S;
  const paths = {
    profilePath: resolvePath('profile', args, io),
    stateDir: resolvePath('stateDir', args, io),
    socketPath: resolvePath('socket', args, io),
  };
  const enrolled = enrolledWith(paths.profilePath, coordinator);
  if (enrolled === null) {
    requiredFlag(args, 'key', 'KEY');
    say(`enrolling with ${coordinator}`);
    const { outcome } = await enrolFromFlags(args, io, 'up');
    const r = outcome.response;
    say(
      `enrolled as ${r.identity} (${r.systemId}), ${r.virtualAddress}` +
        `${r.tags.length ? `, tags ${r.tags.join(', ')}` : ''}${r.state === 'pending' ? '; waiting for approval' : ''}`,
    );
    say(
      `pinned coordinator key fingerprint ${outcome.fingerprint}` +
        `${outcome.keyChecked ? ' (the key you gave)' : ' (not checked: compare it with your administrator)'}; profile ${outcome.profilePath}`,
    );
    if (outcome.ipv6Withheld !== null)
      io.stderr.write(`warning: ${outcome.ipv6Withheld}; this system runs IPv4 only\n`);
    if (!outcome.keyChecked && /^http:\/\//i.test(coordinator))
      io.stderr.write(
        'warning: joined over plain http:// without checking the coordinator key (--insecure); compare the ' +
          "fingerprint above with the administrator's (warren-coordinator key)\n",
      );
  } else {
    preflightEnrol('up', paths, effectiveUid());
    say(
      `already enrolled with ${enrolled.url} as ${enrolled.identity} (${enrolled.systemId}); ` +
        'the key is not used again (to enrol anew, use another --profile or `warren enrol`)',
    );
    keepAdapter(paths.profilePath, stringFlag(args, 'adapter'), say);
  }
  const launched = await startOrReloadHelper(paths, say);
  if (timeoutS === 0) {
    say(`not waiting (--timeout 0); \`warren status\` shows how it stands; ${stopHint(launched)}`);
    return 0;
  }
  say('waiting until connected (Ctrl-C stops waiting; the helper keeps running)');
  return waitUntilConnected({
    socketPath: paths.socketPath,
    timeoutMs: timeoutS * 1000,
    log: launched.log,
    say,
    stopHint: stopHint(launched),
  });
}

/** enrolledWith returns the profile's coordinator section when it is enrolled with url. */
function enrolledWith(profilePath: string, url: string): { url: string; identity: string; systemId: string } | null {
  if (!existsSync(profilePath)) return null;
  const c = readProfile(profilePath).profile.coordinator;
  if (!c || c.url !== url.replace(/\/+$/, '')) return null;
  return { url: c.url, identity: c.identity ?? '(no identity yet)', systemId: c.systemId };
}

/** keepAdapter writes --adapter into an already enrolled profile (a local setting, no key needed). */
function keepAdapter(profilePath: string, adapter: string | undefined, say: (s: string) => void): void {
  if (adapter === undefined) return;
  const { json } = readProfile(profilePath);
  const current = isObject(json.Adapter) ? json.Adapter : {};
  if (current.Name === adapter) return;
  saveProfile(profilePath, { ...json, Adapter: { ...current, Name: adapter } });
  say(`adapter set to ${adapter} in ${profilePath}`);
}

function stopHint(l: Launched): string {
  if (l.how === 'service') return 'to stop it: `warren stop`';
  if (l.how === 'detached' || l.pid !== undefined)
    return `to stop it: \`kill ${l.pid}\` (pid in helper.pid, log ${l.log})`;
  return 'it runs as it did before (`warren stop`, or end its process, stops it)';
}
