// Reads a V8 .cpuprofile (agents-profile.ts, or node --cpu-prof) and prints where its time went
// by function: self time (samples whose top frame it is) and total time (samples with it
// anywhere on the stack, counted once per sample), in ms and as a share of all samples.
// Usage: node dist/scripts/bench/profile-top.js FILE [N]
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

/** functionTimes sums a profile's sample time by function, with the profile's whole span. */
export function functionTimes(p: Profile): { functions: FunctionTime[]; totalUs: number } {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of p.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
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

function main(): void {
  const [file, count] = process.argv.slice(2);
  if (file === undefined) throw new Error('usage: profile-top FILE [N]');
  const n = Number(count ?? 25);
  const { functions, totalUs } = functionTimes(JSON.parse(readFileSync(file, 'utf8')) as Profile);
  const row = (f: FunctionTime, us: number): string =>
    `${(us / 1000).toFixed(0).padStart(7)} ms ${((100 * us) / totalUs).toFixed(1).padStart(5)}%  ${f.name}`;
  process.stdout.write(`${file}: ${(totalUs / 1000).toFixed(0)} ms of samples\nself:\n`);
  for (const f of functions.sort((a, b) => b.selfUs - a.selfUs).slice(0, n))
    process.stdout.write(`${row(f, f.selfUs)}\n`);
  process.stdout.write('total (inclusive):\n');
  for (const f of functions.sort((a, b) => b.totalUs - a.totalUs).slice(0, n))
    process.stdout.write(`${row(f, f.totalUs)}\n`);
}

if (process.argv[1]?.endsWith('profile-top.js')) main();
