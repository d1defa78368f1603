// Reads a V8 .cpuprofile (agents-profile.ts, or node --cpu-prof) and prints where its time went
// by function: self time (samples whose top frame it is) and total time (samples with it
// anywhere on the stack, counted once per sample), in ms and as a share of all samples.
// Usage: node dist/scripts/bench/profile-top.js FILE [N] [--last FUNCTION --ms M]
// With --last, only M ms of samples count, from the start of FUNCTION's last run of samples: a
// whole process's profile (node --cpu-prof) cut to one moment, e.g. a coordinator's from the
// policy change on (--last applyPolicy: parsing the file is too quick to be sampled for sure),
// leaving out its start and the fleet's enrolment.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** FunctionTime is one function's self and total time (µs). */
export interface FunctionTime {
  name: string;
  selfUs: number;
  totalUs: number;
}

/** stackWalk indexes a profile's nodes: by id, and each node's parent (a sample's stack is its
 * node and the parents up to the root). */
function stackWalk(p: Profile): { byId: Map<number, ProfileNode>; parent: Map<number, number> } {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  return { byId, parent };
}

/** functionTimes sums a profile's sample time by function, with the profile's whole span. */
export function functionTimes(p: Profile): { functions: FunctionTime[]; totalUs: number } {
  const { byId, parent } = stackWalk(p);
  const name = (n: ProfileNode): string => {
    const f = n.callFrame;
    return `${f.functionName || '(anonymous)'} ${f.url ? `${basename(f.url)}:${f.lineNumber + 1}` : ''}`.trim();
  };
  const acc = new Map<string, FunctionTime>();
  const get = (k: string): FunctionTime => {
    let t = acc.get(k);
    if (t === undefined) acc.set(k, (t = { name: k, selfUs: 0, totalUs: 0 }));
    return t;
  };
  let totalUs = 0;
  for (let i = 0; i < p.samples.length; i++) {
    // A sample's time is the delta to the next one (the last sample's is unknown: none).
    const us = i + 1 < p.timeDeltas.length ? Math.max(0, p.timeDeltas[i + 1]!) : 0;
    totalUs += us;
    let node = byId.get(p.samples[i]!);
    if (node === undefined) continue;
    get(name(node)).selfUs += us;
    const seen = new Set<string>();
    for (; node !== undefined; node = byId.get(parent.get(node.id) ?? -1)) {
      const k = name(node);
      if (seen.has(k)) continue;
      seen.add(k);
      get(k).totalUs += us;
    }
  }
  return { functions: [...acc.values()], totalUs };
}

/** LAST_RUN_GAP_US: samples with the function on their stack less than this apart are one run. */
const LAST_RUN_GAP_US = 1_000_000;

/** lastRun is the profile cut to ms milliseconds from the start of the last run of samples
 * with a frame of the function named on their stack; null when no sample has one. */
export function lastRun(p: Profile, functionName: string, ms: number): Profile | null {
  const { byId, parent } = stackWalk(p);
  const onStack = (id: number): boolean => {
    for (let n = byId.get(id); n !== undefined; n = byId.get(parent.get(n.id) ?? -1))
      if (n.callFrame.functionName === functionName) return true;
    return false;
  };
  const at: number[] = [];
  let t = 0;
  for (const d of p.timeDeltas) at.push((t += d));
  let start = -1;
  let previous = -Infinity;
  for (let i = 0; i < p.samples.length; i++) {
    if (!onStack(p.samples[i]!)) continue;
    if (at[i]! - previous >= LAST_RUN_GAP_US) start = i;
    previous = at[i]!;
  }
  if (start < 0) return null;
  let end = start;
  while (end < p.samples.length && at[end]! - at[start]! <= ms * 1000) end++;
  return { ...p, samples: p.samples.slice(start, end), timeDeltas: p.timeDeltas.slice(start, end) };
}

function main(): void {
  // Piped into head, the reader leaves early: that ends the listing, it is no error.
  process.stdout.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(0);
  });
  const args = process.argv.slice(2);
  const option = (name: string): string | undefined => {
    const i = args.indexOf(name);
    return i < 0 ? undefined : args.splice(i, 2)[1];
  };
  const last = option('--last');
  const ms = Number(option('--ms') ?? 2000);
  const [file, count] = args;
  if (file === undefined || !(ms > 0)) throw new Error('usage: profile-top FILE [N] [--last FUNCTION --ms M]');
  const n = Number(count ?? 25);
  let profile = JSON.parse(readFileSync(file, 'utf8')) as Profile;
  if (last !== undefined) {
    const cut = lastRun(profile, last, ms);
    if (cut === null) throw new Error(`no sample of ${file} has ${last} on its stack`);
    profile = cut;
  }
  const { functions, totalUs } = functionTimes(profile);
  const row = (f: FunctionTime, us: number): string =>
    `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${f.name}`;
  const from = last === undefined ? '' : ` from the last run of ${last}`;
  process.stdout.write(`${file}: ${(totalUs / 1000).toFixed(0)} ms of samples${from}\nself:\n`);
  for (const f of functions.sort((a, b) => b.selfUs - a.selfUs).slice(0, n))
    process.stdout.write(`${row(f, f.selfUs)}\n`);
  process.stdout.write('total (inclusive):\n');
  for (const f of functions.sort((a, b) => b.totalUs - a.totalUs).slice(0, n))
    process.stdout.write(`${row(f, f.totalUs)}\n`);
}

if (process.argv[1]?.endsWith('profile-top.js')) main();
