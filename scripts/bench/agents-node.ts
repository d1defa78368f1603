// The node flags of the coordinator bench's own process, which runs every simulated agent
// (coordinator.ts). A policy change makes each of thousands of agents allocate its delta's
// decoded JSON, the new map's texts and hashes within a second; V8's default young generation
// (16 MiB semi-spaces on 64-bit) fills many times over meanwhile, and each scavenge copies the
// agents' new maps, which all survive. A larger one scavenges less often over the change.
// V8 sizes the young generation when the process starts only (v8.setFlagsFromString afterwards
// does not resize it), so the bench starts itself again with the flags.
import { spawnSync } from 'node:child_process';

/** AGENTS_NODE_ARGS are the default flags; WARREN_BENCH_AGENTS_NODE_ARGS replaces them (empty:
 * none, the process runs as started). */
export const AGENTS_NODE_ARGS = '--max-semi-space-size=64';

const STARTED = 'WARREN_BENCH_AGENTS_STARTED';

/** agentsNodeArgs are the flags to start the bench with, or [] when it runs as it is: it was
 * started with them already (or by this function), or none are asked for. */
export function agentsNodeArgs(env: NodeJS.ProcessEnv, execArgv: readonly string[]): string[] {
  if (env[STARTED] === '1') return [];
  const args = (env.WARREN_BENCH_AGENTS_NODE_ARGS ?? AGENTS_NODE_ARGS).split(/\s+/).filter((a) => a !== '');
  return args.every((a) => execArgv.includes(a)) ? [] : args;
}

/** restartWithAgentsNodeArgs runs this script again under node with the flags and returns its
 * exit code, or null when this process should go on itself. */
export function restartWithAgentsNodeArgs(): number | null {
  const args = agentsNodeArgs(process.env, process.execArgv);
  if (args.length === 0) return null;
  const r = spawnSync(process.execPath, [...process.execArgv, ...args, process.argv[1]!, ...process.argv.slice(2)], {
    stdio: 'inherit',
    env: { ...process.env, [STARTED]: '1' },
  });
  return r.status ?? 1;
}
