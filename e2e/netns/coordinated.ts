// A coordinator in a namespace of the run and systems enrolled with it, for e2e tests of the
// coordinated mode: `warren-coordinator serve` over plain http (its key is then pinned from the
// admin's side, as docs/coordinator.md says for http), admin commands through its --data
// directory, and `warren enrol` + a helper per system.
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readProfile } from '../../helper/src/config/load.js';
import type { Namespace } from './topology.js';
import type { ExecResult, TrackedProcess } from './process.js';
import { waitUntil } from './wait.js';
import { repoRoot, startWarren, warrenCli, type Warren } from './warren.js';

/** Coordinator is a running coordinator and the way to run its admin commands. */
export interface Coordinator {
  url: string;
  /** cli runs `warren-coordinator ARGS --data DIR` and returns stdout; a failure fails the test. */
  cli(args: string[]): Promise<string>;
  /** run runs `warren-coordinator ARGS --data DIR` whatever its exit status (for refusals). */
  run(args: string[]): Promise<ExecResult>;
  /** applyPolicy applies a policy file given as an object. */
  applyPolicy(policy: object): Promise<void>;
  stop(): Promise<void>;
  /** kill ends the process with SIGKILL (a crash) and waits for it. */
  kill(): Promise<void>;
  /** dataDir is its --data directory. */
  dataDir: string;
  /** output is what the process wrote so far (its log). */
  output(): string;
}

/** startCoordinator serves on ip:8080 in ns and waits until it answers; serveArgs are extra
 * `serve` flags (e.g. --console); dataDir names its --data directory in the run's directory
 * (several coordinators need one each). */
export async function startCoordinator(
  ns: Namespace,
  ip: string,
  serveArgs: string[] = [],
  dataDir = ns.topo.file('coordinator-data'),
): Promise<Coordinator> {
  const topo = ns.topo;
  const url = `http://${ip.includes(':') ? `[${ip}]` : ip}:8080`;
  const bin = join(repoRoot(), 'bin', 'warren-coordinator');
  const proc: TrackedProcess = ns.spawn(
    [
      ...[process.execPath, bin, 'serve', '--data', dataDir, '--listen', `${ip.includes(':') ? `[${ip}]` : ip}:8080`],
      ...serveArgs,
    ],
    { name: `coordinator-${ns.short}` },
  );
  const answers = async (): Promise<true | undefined> =>
    (await ns.exec(['curl', '-sf', `${url}/v1/info`], { allowFailure: true, timeoutMs: 3000 })).code === 0
      ? true
      : undefined;
  await waitUntil('the coordinator answers', answers, 20_000, 200);
  let policies = 0;
  const run = (args: string[]): Promise<ExecResult> =>
    ns.exec([process.execPath, bin, ...args, '--data', dataDir], { allowFailure: true, timeoutMs: 20_000 });
  const cli = async (args: string[]): Promise<string> => {
    const r = await run(args);
    assert.equal(r.code, 0, `warren-coordinator ${args.join(' ')}: ${r.stdout}${r.stderr}`);
    return r.stdout;
  };
  return {
    url,
    cli,
    run,
    async applyPolicy(policy) {
      await cli(['policy', 'apply', topo.writeFile(`policy-${++policies}.json`, JSON.stringify(policy))]);
    },
    stop: () => proc.stop(2000),
    kill: async () => {
      proc.signal('SIGKILL');
      await proc.exited;
    },
    dataDir,
    output: () => proc.output(),
  };
}

/** Enrolled is a system enrolled with the coordinator and running. */
export interface Enrolled {
  w: Warren;
  /** vip and vip6 are the virtual addresses the coordinator gave it. */
  vip: string;
  vip6: string | null;
  adapter: string;
  /** enrolOutput is what `warren enrol` printed (stdout then stderr). */
  enrolOutput: string;
  /** json is the enrolled profile as the helper was started with it. */
  json: Record<string, unknown>;
}

/** enrolAndStart creates a one-use key with tags, enrols ns as `name` and starts its helper.
 * extraArgs go to `warren enrol` (e.g. --allow-full-tunnel), keyArgs to `keys create` (e.g.
 * --approval gated). */
export async function enrolAndStart(
  c: Coordinator,
  ns: Namespace,
  name: string,
  tags: string,
  extraArgs: string[] = [],
  keyArgs: string[] = [],
): Promise<Enrolled> {
  const key = (
    JSON.parse(await c.cli(['keys', 'create', '--tags', tags, '--uses', '1', '--json', ...keyArgs])) as { key: string }
  ).key;
  return enrolWithKey(c, ns, name, key, extraArgs);
}

/** enrolWithKey enrols ns as `name` with an enrolment key made elsewhere (the web console, say)
 * and starts its helper. */
export async function enrolWithKey(
  c: Coordinator,
  ns: Namespace,
  name: string,
  key: string,
  extraArgs: string[] = [],
): Promise<Enrolled> {
  const topo = ns.topo;
  const coordinatorKey = (JSON.parse(await c.cli(['key', '--json'])) as { publicKey: string }).publicKey;
  const profile = topo.file(`${name}.profile`);
  const stateDir = topo.file(`warren-${name}-state`);
  mkdirSync(stateDir, { recursive: true, mode: 0o700 });
  const r = await warrenCli(
    ns,
    [
      ...['enrol', '--coordinator', c.url, '--key', key, '--coordinator-key', coordinatorKey],
      ...['--profile', profile, '--state-dir', stateDir, '--hostname', name, '--port', '51820', ...extraArgs],
    ],
    { timeoutMs: 30_000 },
  );
  assert.equal(r.code, 0, `${name} enrol: ${r.stdout}${r.stderr}`);
  const p = readProfile(profile);
  const adapter = topo.ifname('w');
  const json = { ...p.json, Adapter: { Name: adapter } };
  const w = await startWarren(ns, json, { name: `warren-${name}` });
  return {
    w,
    vip: p.profile.virtualAddress,
    vip6: p.profile.virtualAddress6,
    adapter,
    enrolOutput: r.stdout + r.stderr,
    json,
  };
}
