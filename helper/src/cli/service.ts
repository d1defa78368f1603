// `warren start` and `warren stop`: control the helper's system service, which the installers
// set up (packaging/linux/warren-helper.service). Linux with systemd is supported; elsewhere
// the commands say so instead of pretending.
import { existsSync } from 'node:fs';
import { runCommandExit } from '../../../src-shared/lib/command.js';
import { CliError, EXIT, stringFlag, UsageError, type Command } from './command.js';

/** SERVICE_UNIT is the systemd unit the deb and rpm packages install. */
export const SERVICE_UNIT = 'warren-helper.service';
/** SYSTEMD_RUN_DIR exists exactly when systemd is the running init (sd_booted(3)). */
export const SYSTEMD_RUN_DIR = '/run/systemd/system';

/** ServiceAction is what a command asks of the service manager. */
export type ServiceAction = 'start' | 'stop';

/** ServiceEnv holds what tests replace; the defaults are the real machine. */
export interface ServiceEnv {
  platform?: string;
  systemdRunDir?: string;
  /** systemctl is the program to run (default `systemctl`, found on PATH). */
  systemctl?: string;
  /** timeoutMs bounds one systemctl call (default 120 s: a stop waits for the helper's cleanup). */
  timeoutMs?: number;
}

const UNIT_RE = /^[A-Za-z0-9:_.@-]{1,200}\.service$/;
const MAX_OUTPUT = 64 * 1024;

/** controlService starts or stops unit; it throws CliError with what to do when it cannot. */
export async function controlService(action: ServiceAction, unit: string, env: ServiceEnv = {}): Promise<string> {
  const platform = env.platform ?? process.platform;
  if (platform !== 'linux') {
    const how =
      platform === 'darwin'
        ? 'use `sudo launchctl kickstart system/com.warren.helper` or `sudo launchctl kill TERM system/com.warren.helper`'
        : 'use the Services console (service "WarrenHelper")';
    throw new CliError(`warren ${action} is not supported on ${platform} yet (Linux with systemd only); ${how}`);
  }
  if (!UNIT_RE.test(unit))
    throw new UsageError(
      `--unit must be a systemd service name like ${SERVICE_UNIT}, not ${JSON.stringify(unit.slice(0, 60))}`,
    );
  if (!existsSync(env.systemdRunDir ?? SYSTEMD_RUN_DIR)) {
    throw new CliError(
      `systemd is not running on this machine (no ${env.systemdRunDir ?? SYSTEMD_RUN_DIR}), so there is no ` +
        `service to ${action}; run the helper in the foreground with \`sudo warren run\` instead`,
    );
  }
  const r = await run(env.systemctl ?? 'systemctl', [action, unit], env.timeoutMs ?? 120_000);
  if (r.error === 'ENOENT')
    throw new CliError(`systemctl was not found on PATH; ${action} ${unit} with your service manager`);
  if (r.error === 'timeout')
    throw new CliError(`systemctl ${action} ${unit} did not finish in time; see \`journalctl -u ${unit}\``);
  if (r.code !== 0) {
    const said = r.stderr.trim().split('\n').slice(-3).join(' ').slice(0, 500);
    // systemctl exits 5 when the unit is not installed (LSB "not installed").
    const hint =
      r.code === 5 || /not (be )?found|not loaded/i.test(said)
        ? `; is Warren installed? The deb and rpm packages install ${SERVICE_UNIT}`
        : r.code === 4 || /access denied|interactive authentication/i.test(said)
          ? '; run it as root: `sudo warren ' + action + '`'
          : `; see \`journalctl -u ${unit}\``;
    throw new CliError(`systemctl ${action} ${unit} failed (exit ${r.code})${said ? `: ${said}` : ''}${hint}`);
  }
  return action === 'start'
    ? `started ${unit}`
    : `stopped ${unit}; the helper removed its adapter, routes and DNS settings`;
}

interface RunResult {
  code: number;
  stderr: string;
  error?: 'ENOENT' | 'timeout';
}

async function run(cmd: string, args: string[], timeoutMs: number): Promise<RunResult> {
  const r = await runCommandExit(cmd, args, { timeoutMs, maxOutputBytes: MAX_OUTPUT });
  if (r.ok) return { code: 0, stderr: r.stderr };
  if (r.missing) return { code: -1, stderr: '', error: 'ENOENT' };
  if (r.killed) return { code: -1, stderr: r.stderr, error: 'timeout' };
  return { code: r.code ?? 1, stderr: r.stderr };
}

function serviceCommand(action: ServiceAction, summary: string, details: string): Command {
  return {
    name: action,
    summary,
    usage: `warren ${action} [--unit NAME]`,
    details: `${details}

  --unit NAME   the systemd unit (default ${SERVICE_UNIT})`,
    options: { unit: { type: 'string' } },
    async run(args, io) {
      const unit = stringFlag(args, 'unit') ?? SERVICE_UNIT;
      io.stdout.write(`${await controlService(action, unit)}\n`);
      return EXIT.ok;
    },
  };
}

/** startCommand is `warren start`. */
export const startCommand = serviceCommand(
  'start',
  'start the helper as a system service',
  `
Starts the helper's system service (systemd's ${SERVICE_UNIT}, installed by the deb and rpm
packages), which runs \`warren run\` with the default profile. Needs root, or a polkit rule
that allows it. Without systemd, run \`sudo warren run\` in the foreground instead.`,
);

/** stopCommand is `warren stop`. */
export const stopCommand = serviceCommand(
  'stop',
  'stop the helper system service',
  `
Stops the helper's system service. The helper removes its adapter, routes, split-DNS change
and exit-node firewall rules before it exits. Needs root, or a polkit rule that allows it.`,
);
