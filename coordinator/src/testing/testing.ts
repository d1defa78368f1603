// Test support for the coordinator and for whoever tests against it (the helper's e2e tests):
// start a real `warren-coordinator serve` process, or one in this process, and call its admin
// API. From dist/ the process is bin/warren-coordinator; from source (tsx) it is main.ts.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { createLogger, type LogSink } from '../../../src-shared/lib/log.js';
import { adminCall as call, type AdminResult } from '../cli/admin-client.js';
import { readServeInfo } from '../store/data-dir.js';
import { send } from '../http/client.js';
import { startCoordinator, type RunningCoordinator, type ServeOptions } from '../server/server.js';
import { SimAgent } from './agent-sim.js';
import type { AdminKey, CreatedKey } from '../api/admin-types.js';

export { adminCall } from '../cli/admin-client.js';

const here = dirname(fileURLToPath(import.meta.url));
const fromSource = import.meta.url.endsWith('.ts');
/** REPO_ROOT is the checkout: three levels above coordinator/src/testing, four above its dist/ copy. */
export const REPO_ROOT = fromSource ? join(here, '..', '..', '..') : join(here, '..', '..', '..', '..');

/** CoordinatorProcess is a running `warren-coordinator serve`. */
export interface CoordinatorProcess {
  url: string;
  publicKey: string;
  adminToken: string;
  pid: number;
  /** udpPort is the UDP port (discovery, embedded relay); relayTcpPort the relay's TCP port. */
  udpPort: number;
  relayTcpPort: number | null;
  /** output is what the process wrote to stderr so far (its log). */
  output(): string;
  /** stop sends SIGTERM and waits for the exit; it resolves to the exit code. */
  stop(): Promise<number | null>;
  /** kill sends SIGKILL and waits. */
  kill(): Promise<void>;
}

/** CoordinatorProcessOptions say how to start `warren-coordinator serve`. */
export interface CoordinatorProcessOptions {
  dataDir: string;
  listen: string;
  /** udp, publicIp, relayTcp, noRelay and relays become --udp, --public-ip, --relay-tcp,
   * --no-relay and one --relay each (NAME,udp=IP:PORT,tcp=IP:PORT). */
  udp?: string;
  publicIp?: string;
  relayTcp?: string;
  noRelay?: boolean;
  relays?: string[];
  env?: Record<string, string>;
  /** args are extra `serve` flags, e.g. ['--ephemeral-timeout', '5s']. */
  args?: string[];
  /** nodeArgs go to node before the script, e.g. ['--cpu-prof'] (NODE_OPTIONS refuses it). */
  nodeArgs?: string[];
  timeoutMs?: number;
}

/** serveArgs turns the options into `serve`'s command line. */
export function serveArgs(opts: CoordinatorProcessOptions): string[] {
  return [
    'serve',
    '--data',
    opts.dataDir,
    '--listen',
    opts.listen,
    ...(opts.udp !== undefined ? ['--udp', opts.udp] : []),
    ...(opts.publicIp !== undefined ? ['--public-ip', opts.publicIp] : []),
    ...(opts.relayTcp !== undefined ? ['--relay-tcp', opts.relayTcp] : []),
    ...(opts.noRelay ? ['--no-relay'] : []),
    ...(opts.relays ?? []).flatMap((r) => ['--relay', r]),
    ...(opts.args ?? []),
  ];
}

/** startCoordinatorProcess spawns the server and waits until /v1/info answers. The ports come
 * from serve.json, which the server writes once everything listens (they are also in its log,
 * but that is silent at -v 0). */
export async function startCoordinatorProcess(opts: CoordinatorProcessOptions): Promise<CoordinatorProcess> {
  const argv = fromSource
    ? ['--import', 'tsx', join(REPO_ROOT, 'coordinator', 'src', 'main.ts')]
    : [join(REPO_ROOT, 'bin', 'warren-coordinator')];
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...argv, ...serveArgs(opts)], {
    env: { ...process.env, ...opts.env },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (s: string) => {
    log = (log + s).slice(-256 * 1024);
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const deadline = Date.now() + (opts.timeoutMs ?? 20_000);
  for (;;) {
    if (child.exitCode !== null) throw new Error(`warren-coordinator exited with code ${child.exitCode}:\n${log}`);
    const info = readServeInfo(opts.dataDir);
    if (info && info.pid === child.pid) {
      try {
        const ca = info.tlsCert ? readFileSync(info.tlsCert) : undefined;
        const r = await send(`${info.url}/v1/info`, { method: 'GET', timeoutMs: 2000, ...(ca ? { ca } : {}) });
        if (r.status === 200) {
          const { publicKey } = JSON.parse(r.body.toString('utf8')) as { publicKey: string };
          const adminToken = readFileSync(join(opts.dataDir, 'admin.token'), 'utf8').trim();
          return {
            url: info.url,
            publicKey,
            adminToken,
            pid: child.pid!,
            udpPort: info.udpPort ?? 0,
            relayTcpPort: info.relayTcpPort ?? null,
            output: () => log,
            stop: () => signal(child, 'SIGTERM', exited),
            kill: async () => void (await signal(child, 'SIGKILL', exited)),
          };
        }
      } catch {
        // not answering yet
      }
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`warren-coordinator did not answer within ${opts.timeoutMs ?? 20_000} ms:\n${log}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

function signal(child: ChildProcess, sig: NodeJS.Signals, exited: Promise<number | null>): Promise<number | null> {
  if (child.exitCode === null && child.signalCode === null) child.kill(sig);
  return exited;
}

/** TestCoordinator is an in-process coordinator on 127.0.0.1 with a temp data dir. */
export interface TestCoordinator extends RunningCoordinator {
  dataDir: string;
  logLines: string[];
  admin<T = unknown>(method: string, path: string, body?: unknown): Promise<AdminResult<T>>;
  /** restart closes and starts again on the same data dir (new port). */
  restart(): Promise<TestCoordinator>;
  /** dispose closes and deletes the data dir. */
  dispose(): Promise<void>;
}

/** startTestCoordinator starts an in-process coordinator for tests. */
export async function startTestCoordinator(
  over: Partial<ServeOptions> = {},
  dataDir = mkdtempSync(join(tmpdir(), 'warren-coord-')),
): Promise<TestCoordinator> {
  const logLines: string[] = [];
  const sink: LogSink = { write: (l: string) => logLines.push(l) };
  const running = await startCoordinator({
    dataDir,
    host: '127.0.0.1',
    port: 0,
    ephemeralTimeoutMs: 600_000,
    network: parseCidr('100.64.0.0/10')!,
    zone: 'warren.internal',
    log: createLogger(3, sink),
    ...over,
  });
  const t: TestCoordinator = {
    ...running,
    dataDir,
    logLines,
    admin: (method, path, body) => call(running.url, running.adminToken, method, path, body),
    restart: async () => {
      await running.close();
      return startTestCoordinator(over, dataDir);
    },
    dispose: async () => {
      await running.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
  return t;
}

/** DEV_TO_SERVER_POLICY lets systems tagged dev reach those tagged server, on anything. */
export const DEV_TO_SERVER_POLICY = {
  Tags: ['dev', 'server'],
  Policies: [{ Name: 'dev to server', Senders: ['tag:dev'], Receivers: ['tag:server'], Acls: [{ Protocol: 'any' }] }],
};

/** createKey makes an enrolment key (automatic approval, one hour) and returns it; it throws
 * unless the coordinator answered 201. */
export async function createKey(
  c: TestCoordinator,
  { tags = ['dev'], uses = 5, approval = 'automatic' }: { tags?: string[]; uses?: number; approval?: string } = {},
): Promise<string> {
  const k = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
    tags,
    approval,
    uses,
    expiresInMs: 3_600_000,
    ephemeral: false,
  });
  if (k.status !== 201) throw new Error(`creating a key failed: HTTP ${k.status}`);
  return k.body.key;
}

/** keyUses is how many enrolments every key together has been used for. */
export async function keyUses(c: TestCoordinator): Promise<number> {
  const r = await c.admin<{ keys: AdminKey[] }>('GET', '/v1/admin/keys');
  return r.body.keys.reduce((n, k) => n + k.uses, 0);
}

/** enrolledAgent makes a one-use key with these tags and enrols a simulated agent with it. */
export async function enrolledAgent(
  c: TestCoordinator,
  tags: string[],
  name: string,
  approval = 'automatic',
): Promise<SimAgent> {
  const key = await createKey(c, { tags, uses: 1, approval });
  const a = new SimAgent(c.url);
  await a.enrol(key, name);
  return a;
}
