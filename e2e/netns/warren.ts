// Running the Warren helper under test inside a namespace, through its CLI contract:
// `warren run --profile FILE -v N --socket PATH --state-dir DIR` (foreground, SIGTERM stops it)
// and `warren status --json --socket PATH` (exit 1 when not running).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../src-shared/lib/package-root.js';
import { PACKET_PATH_NODE_FLAGS } from '../../src-shared/lib/node-flags.js';
import { fileURLToPath } from 'node:url';
import type { PeerStatus, Status } from '../../src-shared/wire/status.js';
import { ApiClient } from '../../src-shared/lib/helper-client/client.js';
import type { ExecOptions, ExecResult, TrackedProcess } from './process.js';
import type { Namespace } from './topology.js';
import { sleep, waitUntil } from './wait.js';
import { JS_SLICE_NS } from '../../src-shared/lib/native/slice.js';
import { customSlices } from '../../src-shared/lib/native/testing.js';

/** repoRoot finds the checkout root from this module's location, which is e2e/netns/ under
 * tsx and dist/e2e/netns/ when compiled. */
export function repoRoot(): string {
  const root = packageRoot(import.meta.url);
  if (root === null) throw new Error('cannot find the warren checkout above ' + fileURLToPath(import.meta.url));
  return root;
}

/** warrenCliPath is the helper's compiled CLI, or WARREN_E2E_CLI when set (to test an
 * installed build). */
export function warrenCliPath(): string {
  return process.env.WARREN_E2E_CLI ?? join(repoRoot(), 'dist', 'helper', 'src', 'cli', 'main.js');
}

/** warrenArgv is the argv prefix that runs the CLI (or cli instead, for a benchmark's A/B):
 * node with the launchers' flags (or nodeFlags instead) for a .js file (so tests and the bench
 * run the helper as bin/warren does), else the file itself. */
export function warrenArgv(nodeFlags: readonly string[] = PACKET_PATH_NODE_FLAGS, cli = warrenCliPath()): string[] {
  return cli.endsWith('.js') ? [process.execPath, ...nodeFlags, cli] : [cli];
}

/** warrenCli runs one CLI command in ns to completion (never throws on exit status). */
export function warrenCli(ns: Namespace, args: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return ns.exec([...warrenArgv(), ...args], { timeoutMs: 20_000, ...opts, allowFailure: true });
}

/** WarrenOptions tune startWarren. */
export interface WarrenOptions {
  /** name labels the profile, socket, state dir and log; default `warren-<ns short name>`. */
  name?: string;
  verbosity?: number;
  timeoutMs?: number;
  /** env adds environment variables for the helper (e.g. WARREN_FIREWALL_BACKEND). */
  env?: NodeJS.ProcessEnv;
  /** nodeFlags replace the launchers' node flags for `warren run` (a .js CLI only). */
  nodeFlags?: readonly string[];
  /** cli runs `warren run` from another build (its dist/helper/src/cli/main.js). */
  cli?: string;
}

/** Warren is a running helper. */
export interface Warren {
  ns: Namespace;
  name: string;
  proc: TrackedProcess;
  pid: number;
  profilePath: string;
  socket: string;
  stateDir: string;
  /** status runs `warren status --json` and parses it; throws if the helper does not answer. */
  status(): Promise<Status>;
  /** peer returns the status entry for a public key, or throws. */
  peer(publicKey: string): Promise<PeerStatus>;
  /** stop sends SIGTERM (SIGKILL after graceMs) and resolves with the exit status. */
  stop(graceMs?: number): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** startWarren writes profile to the run dir, spawns `warren run` in ns and waits until
 * `status --json` answers; on failure the error carries the helper's log. */
export async function startWarren(ns: Namespace, profile: object, opts: WarrenOptions = {}): Promise<Warren> {
  const topo = ns.topo;
  const name = opts.name ?? `warren-${ns.short}`;
  const profilePath = topo.writeFile(`${name}.profile`, JSON.stringify(profile, null, 2) + '\n');
  const socket = topo.file(`${name}.sock`);
  const stateDir = topo.file(`${name}-state`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const proc = ns.spawn(
    [
      ...warrenArgv(opts.nodeFlags, opts.cli),
      'run',
      '--profile',
      profilePath,
      '-v',
      String(opts.verbosity ?? 2),
      '--socket',
      socket,
      '--state-dir',
      stateDir,
    ],
    { name, ...(opts.env ? { env: opts.env } : {}) },
  );
  // Status comes from the helper's API over its socket (what `warren status --json` prints),
  // not from a `warren status` process per call: tests poll it, and on a loaded machine each
  // process took seconds to start. The CLI itself is driven by the tests that check its output.
  const api = new ApiClient(socket, { timeoutMs: 10_000 });
  const status = (): Promise<Status> => api.status();
  const timeoutMs = opts.timeoutMs ?? 20_000;
  const deadline = Date.now() + timeoutMs;
  let lastErr = '';
  for (;;) {
    if (!proc.running) {
      throw new Error(
        `${name} exited (code ${proc.exitCode}, signal ${proc.exitSignal}) before answering status:\n${proc.output().slice(-6000)}`,
      );
    }
    try {
      // The API answers while the helper still sets up; wait until the tunnel is in place.
      if ((await status()).starting !== true) break;
      lastErr = 'still starting';
    } catch (e) {
      lastErr = e instanceof Error ? e.message : String(e);
    }
    if (Date.now() > deadline) {
      throw new Error(
        `${name} did not answer status within ${timeoutMs} ms (${lastErr}):\n${proc.output().slice(-6000)}`,
      );
    }
    await sleep(200);
  }
  return {
    ns,
    name,
    proc,
    pid: proc.pid,
    profilePath,
    socket,
    stateDir,
    status,
    async peer(publicKey: string): Promise<PeerStatus> {
      const s = await status();
      const p = s.peers.find((x) => x.publicKey === publicKey);
      if (p === undefined) throw new Error(`${name}: no peer ${publicKey} in status: ${JSON.stringify(s.peers)}`);
      return p;
    },
    async stop(graceMs = 5000) {
      await proc.stop(graceMs);
      return { code: proc.exitCode, signal: proc.exitSignal };
    },
  };
}

/** waitForHandshake waits until w's status shows a handshake with the peer. */
export function waitForHandshake(w: Warren, publicKey: string, timeoutMs = 10_000): Promise<PeerStatus> {
  return waitUntil(
    `${w.name} handshake with ${publicKey}`,
    async () => {
      const p = await w.peer(publicKey);
      return p.lastHandshake !== null ? p : undefined;
    },
    timeoutMs,
    200,
  );
}

/** jsSliceWords is what `warren status` should show of a helper's JS-thread slice on this
 * kernel: the short slice where fair threads may have their own (Linux 6.12 and later, probed
 * on the calling thread and given back), else the default. */
export function jsSliceWords(): string {
  return customSlices() ? `js-slice ${JS_SLICE_NS / 1000}us` : 'js-slice default';
}
