// `npm run fuzz`: runs every harness (scripts/fuzz/harnesses) for a while, one at a time, each in
// a worker thread with a memory bound and a watchdog, and prints inputs per second, the blocks
// covered, the distinct outcomes reached and any failure with its minimised input
// (docs/fuzzing.md).
//
//   npm run fuzz -- [--seconds N] [--only NAME[,NAME...]] [--seed N] [--hang-seconds N] [--outcomes]
//   npm run fuzz -- --only NAME --replay FILE      run one saved input and print what it does
//   npm run fuzz -- --list                         list the harnesses and their properties
//
// Failing inputs are saved under .fuzz/crashes/NAME/; to keep one as a regression test, move it
// to scripts/fuzz/regressions/NAME/ (the unit test replays every file there).
import { createHash, randomInt } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { check, describeInput, type FuzzReport } from './engine.js';
import { harness, HARNESSES } from './harnesses/index.js';
import type { WorkerJob, WorkerMessage } from './worker.js';

const SHARED_INPUT_BYTES = 1 << 20;
const WORKER_HEAP_MB = 1024;

const USAGE = `usage: npm run fuzz -- [--seconds N] [--only NAME[,NAME...]] [--seed N] [--hang-seconds N] [--outcomes]
       npm run fuzz -- --only NAME --replay FILE
       npm run fuzz -- --list
  --seconds N       how long each harness runs (default 60)
  --only NAMES      run only these harnesses (--list names them)
  --seed N          repeat a run: the seed is printed at the start and with each failure
  --hang-seconds N  a harness that makes no progress for this long is reported hung (default 20)
  --outcomes        also list the outcomes reached, with counts
  --replay FILE     run one saved input of the --only harness and say what it does
  --list            the harnesses and their properties
Failing inputs are saved under .fuzz/crashes/NAME/ (docs/fuzzing.md).`;

/** UsageError is a mistake on the command line: one line, then where the usage is. */
class UsageError extends Error {}

function parseCommandLine() {
  try {
    return parseArgs({
      options: {
        seconds: { type: 'string', default: '60' },
        only: { type: 'string' },
        seed: { type: 'string' },
        'hang-seconds': { type: 'string', default: '20' },
        replay: { type: 'string' },
        outcomes: { type: 'boolean', default: false },
        list: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }).values;
  } catch (e) {
    throw new UsageError(e instanceof Error ? e.message : String(e));
  }
}

/** positive reads a whole number of at least 1 from an option, or says which option is wrong. */
function positive(name: string, text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n) || n < 1) throw new UsageError(`--${name} ${text}: give a whole number of at least 1`);
  return n;
}

function save(name: string, input: Buffer): string {
  const dir = join('.fuzz', 'crashes', name);
  mkdirSync(dir, { recursive: true });
  const file = join(dir, createHash('sha1').update(input).digest('hex').slice(0, 16));
  writeFileSync(file, input);
  return file;
}

type Outcome = { report: FuzzReport | null; crash: string | null };

// runOne runs a harness in a worker until it reports, dies, or stops making progress.
function runOne(name: string, seed: number, seconds: number, hangMs: number): Promise<Outcome> {
  const shared = new SharedArrayBuffer(8 + SHARED_INPUT_BYTES);
  const meta = new Int32Array(shared, 0, 2);
  const fromSource = import.meta.url.endsWith('.ts');
  const job: WorkerJob = { name, seed, seconds, shared };
  const worker = new Worker(new URL(fromSource ? './worker.ts' : './worker.js', import.meta.url), {
    workerData: job,
    resourceLimits: { maxOldGenerationSizeMb: WORKER_HEAP_MB },
    execArgv: fromSource ? ['--import', 'tsx'] : [],
  });
  const current = (): Buffer => Buffer.from(new Uint8Array(shared, 8, Atomics.load(meta, 1)));
  return new Promise<Outcome>((resolve) => {
    let last = { runs: -1, at: Date.now() };
    let settled = false;
    const finish = (o: Outcome): void => {
      if (settled) return;
      settled = true;
      clearInterval(watchdog);
      void worker.terminate();
      resolve(o);
    };
    const watchdog = setInterval(() => {
      const runs = Atomics.load(meta, 0);
      if (runs !== last.runs) last = { runs, at: Date.now() };
      else if (Date.now() - last.at > hangMs)
        finish({ report: null, crash: `no input finished for ${hangMs / 1000} s (a hang)` });
    }, 250);
    let lastPrint = Date.now();
    worker.on('message', (m: WorkerMessage) => {
      if (m.type === 'error') finish({ report: null, crash: m.message });
      else if (m.type === 'done') finish({ report: m.report, crash: null });
      else if (Date.now() - lastPrint >= 15_000) {
        lastPrint = Date.now();
        const r = m.report;
        console.log(
          `  ${name}: ${r.iterations} inputs in ${r.seconds.toFixed(0)} s, ${r.blocks} blocks, ${r.outcomes.size} outcomes`,
        );
      }
    });
    worker.on('error', (e) => finish({ report: null, crash: `the worker died: ${e.message}` }));
    worker.on('exit', (code) => finish({ report: null, crash: `the worker exited with code ${code}` }));
  }).then((o) => {
    if (o.crash !== null) o.crash += `\n    input: ${describeInput(current())}\n    saved: ${save(name, current())}`;
    return o;
  });
}

function print(name: string, o: Outcome, seed: number, outcomes: boolean): boolean {
  if (o.report === null) {
    console.log(`${name}: CRASH (seed ${seed}): ${o.crash}`);
    return false;
  }
  const r = o.report;
  const rate = r.iterations / Math.max(r.seconds, 0.001);
  console.log(
    `${name}: ${r.iterations} inputs in ${r.seconds.toFixed(1)} s (${rate.toFixed(0)}/s), ` +
      `${r.blocks} blocks covered, ${r.outcomes.size} distinct outcomes, corpus ${r.corpus}, ${r.failures.length} failures`,
  );
  if (outcomes) {
    for (const [k, n] of [...r.outcomes].sort((a, b) => b[1] - a[1])) console.log(`    ${String(n).padStart(8)}  ${k}`);
  }
  for (const f of r.failures) {
    console.log(`  FAILURE (seed ${seed}, input ${f.iteration}): ${f.signature}`);
    console.log(`    ${f.message.split('\n').slice(0, 8).join('\n    ')}`);
    console.log(`    minimised: ${describeInput(Buffer.from(f.minimised))}`);
    console.log(`    saved: ${save(name, Buffer.from(f.minimised))}`);
  }
  return r.failures.length === 0;
}

async function replay(name: string, file: string): Promise<boolean> {
  const spec = harness(name);
  const h = await spec.create();
  try {
    const input = readFileSync(file);
    const r = await check(spec, h, input);
    console.log(`${name} ${file}: ${describeInput(input)}`);
    console.log(r.ok ? `  passes: ${JSON.stringify(r.outcome)} in ${r.ms.toFixed(1)} ms` : `  FAILS: ${r.message}`);
    return r.ok;
  } finally {
    await h.close?.();
  }
}

async function main(): Promise<number> {
  const args = parseCommandLine();
  if (args.help) {
    console.log(USAGE);
    return 0;
  }
  const names = args.only ? args.only.split(',') : HARNESSES.map((h) => h.name);
  if (args.list) {
    for (const n of names)
      console.log(
        `${n}\n${harness(n)
          .properties.map((p) => `  - ${p}`)
          .join('\n')}`,
      );
    return 0;
  }
  if (args.replay !== undefined) {
    if (names.length !== 1) throw new Error('--replay needs --only NAME');
    return (await replay(names[0]!, args.replay)) ? 0 : 1;
  }
  const seconds = positive('seconds', args.seconds);
  const seed = args.seed === undefined ? randomInt(2 ** 31) : Number(args.seed);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new UsageError(`--seed ${args.seed}: give a whole number`);
  const hangMs = positive('hang-seconds', args['hang-seconds']) * 1000;
  console.log(`fuzzing ${names.length} harnesses for ${seconds} s each, seed ${seed}`);
  let ok = true;
  for (const n of names) {
    harness(n);
    ok = print(n, await runOne(n, seed, seconds, hangMs), seed, args.outcomes) && ok;
  }
  return ok ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(e instanceof Error ? e.message : String(e));
    if (e instanceof UsageError) console.error("Run 'npm run fuzz -- --help' for usage.");
    process.exit(2);
  },
);
