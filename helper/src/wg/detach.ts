// Detaching as wireguard-go does: the parent starts itself again in the foreground in a new
// session and exits 0 only once the child reports that the device and its UAPI socket exist,
// or 1 with the child's error on stderr. wireguard-go opens the TUN device and the socket in
// the parent and hands their descriptors over; Node cannot fork, so the child opens them and
// reports on a pipe (READY_FD_ENV names its descriptor). As with wireguard-go, the child keeps
// stdout and stderr only when LOG_LEVEL asks for logs.
import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import type { Readable } from 'node:stream';
import { withPacketPathFlags } from '../../../src-shared/lib/node-flags.js';

/** READY_FD_ENV tells a detached child on which descriptor to report readiness. */
export const READY_FD_ENV = 'WARREN_WG_READY_FD';
const READY = 'ready';

/** detach runs argv again in the background and resolves with the parent's exit code. */
export function detach(args: string[], env: NodeJS.ProcessEnv, stderr: NodeJS.WritableStream): Promise<number> {
  const keepOutput = env.LOG_LEVEL !== undefined && env.LOG_LEVEL !== '' && env.LOG_LEVEL !== 'silent';
  const out = keepOutput ? 'inherit' : 'ignore';
  const child = spawn(process.execPath, [...withPacketPathFlags(process.execArgv), process.argv[1]!, ...args], {
    detached: true,
    env: { ...env, WG_PROCESS_FOREGROUND: '1', [READY_FD_ENV]: '3' },
    stdio: ['ignore', out, out, 'pipe'],
  });
  const report = child.stdio[3] as Readable;
  return new Promise((resolve) => {
    let text = '';
    let done = false;
    const settle = (code: number, message?: string): void => {
      if (done) return;
      done = true;
      if (message) stderr.write(message.endsWith('\n') ? message : `${message}\n`);
      report.destroy();
      child.unref();
      resolve(code);
    };
    report.setEncoding('utf8');
    report.on('data', (s: string) => {
      text += s.slice(0, 4096);
    });
    report.on('close', () => {
      if (text.trim() === READY) settle(0);
      else settle(1, text.trim() || 'warren-wg: the background process stopped before the device was ready');
    });
    child.on('error', (e) => settle(1, `warren-wg: cannot start the background process: ${e.message}`));
    child.on('exit', (code) => {
      if (!text)
        settle(1, `warren-wg: the background process exited (${code ?? 'signal'}) before the device was ready`);
    });
  });
}

/** reportReady tells a waiting parent that the device is up (no-op in the foreground). */
export function reportReady(env: NodeJS.ProcessEnv): void {
  reportToParent(env, READY);
}

/** reportFailure hands the startup error to a waiting parent; false if there is none. */
export function reportFailure(env: NodeJS.ProcessEnv, message: string): boolean {
  return reportToParent(env, message);
}

function reportToParent(env: NodeJS.ProcessEnv, text: string): boolean {
  const fd = Number(env[READY_FD_ENV]);
  if (!Number.isInteger(fd) || fd < 3) return false;
  delete env[READY_FD_ENV];
  try {
    writeSync(fd, `${text}\n`);
    closeSync(fd);
    return true;
  } catch {
    return false;
  }
}
