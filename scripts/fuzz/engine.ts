// The fuzzing engine: a mutation loop guided by coverage and by outcomes. An input joins the
// corpus, to be mutated further, when it makes V8 run a block of the code under test that no
// input ran before (coverage.ts), or when it shows an outcome not seen before: each harness
// reports what an input did (a drop reason, a refusal with its numbers blanked, the shape of
// what was parsed), which tells apart paths that run the same blocks, such as one check failing
// at different fields. Both lead the search past each check a parser makes, one at a time.
//
// A run is reproducible: every choice comes from one seed (printed on failure), and a harness's
// own choices are made from the input (only a harness with sockets or timers can reach blocks in
// an order that differs between runs). A failing input is minimised (ddmin-style deletion,
// then byte simplification) while it still fails the same way.
import { mutateBytes, type MutationContext } from './mutate.js';
import { collectWords, mutateJson } from './mutate-json.js';
import { attribute, CoverageProbe } from './coverage.js';
import { errorOutcome } from './guard.js';
import { Rng } from './rng.js';

/** Outcome names what an input did; an array gives several features at once. */
export type Outcome = string | readonly string[];

/** Harness is one parser under test, set up: seeds and a run that asserts its properties. */
export interface Harness {
  /** seeds are valid inputs, built with the project's own builders where it has them. */
  readonly seeds: readonly Buffer[];
  readonly dictionary?: readonly (string | Buffer)[];
  readonly maxLen: number;
  /** json: the input is JSON text; mutate the tree as well as the bytes. */
  readonly json?: boolean;
  /** run checks one input: it throws when a property fails and returns what the input did. */
  run(input: Buffer): Outcome | Promise<Outcome>;
  close?(): void | Promise<void>;
}

/** HarnessSpec names a harness, states its properties and sets it up. */
export interface HarnessSpec {
  name: string;
  /** properties is what run asserts, one sentence each, for reports. */
  properties: readonly string[];
  /** timeLimitMs bounds one input (default DEFAULT_TIME_LIMIT_MS). */
  timeLimitMs?: number;
  /** testIterations is how many inputs the unit test runs. */
  testIterations: number;
  create(): Harness | Promise<Harness>;
}

/** DEFAULT_TIME_LIMIT_MS: no parser here should need this long for one input of its bound. */
export const DEFAULT_TIME_LIMIT_MS = 500;
const MAX_CORPUS = 4096;

/** Failure is one property that broke, with the input that broke it. */
export interface Failure {
  signature: string;
  message: string;
  input: Buffer;
  minimised: Buffer;
  iteration: number;
}

/** FuzzReport is what one run did. */
export interface FuzzReport {
  name: string;
  seed: number;
  iterations: number;
  seconds: number;
  corpus: number;
  /** blocks is how many distinct blocks of the code under test V8 saw run (0 without coverage). */
  blocks: number;
  /** outcomes counts inputs per distinct outcome. */
  outcomes: Map<string, number>;
  failures: Failure[];
}

export interface FuzzOptions {
  seed: number;
  /** iterations and seconds bound the run; whichever comes first ends it. */
  iterations?: number;
  seconds?: number;
  /** maxFailures ends the run after this many distinct failures (default 5). */
  maxFailures?: number;
  /** onInput sees each input before it runs (the CLI's watchdog keeps the last one). */
  onInput?(input: Buffer, iteration: number): void;
  onProgress?(r: FuzzReport): void;
  /** coverage is V8's block coverage, started before the code under test was loaded (without
   * it the run is guided by outcomes alone). */
  coverage?: CoverageProbe;
}

/** Checked is the result of one input. */
export type Checked = { ok: true; outcome: Outcome; ms: number } | { ok: false; signature: string; message: string };

function isPromise(v: unknown): v is Promise<Outcome> {
  return typeof (v as { then?: unknown } | null)?.then === 'function';
}

/** check runs one input, timing it; a slow input is run again before it counts as a failure,
 * since on a shared machine one slow run may be the scheduler's doing. */
export async function check(spec: HarnessSpec, h: Harness, input: Buffer): Promise<Checked> {
  const limit = spec.timeLimitMs ?? DEFAULT_TIME_LIMIT_MS;
  let ms = 0;
  for (let attempt = 0; attempt < 2; attempt++) {
    const t0 = performance.now();
    let outcome: Outcome;
    try {
      const r = h.run(input);
      outcome = isPromise(r) ? await r : r;
    } catch (e) {
      return {
        ok: false,
        signature: errorOutcome(e),
        message: e instanceof Error ? (e.stack ?? e.message) : String(e),
      };
    }
    ms = performance.now() - t0;
    if (ms <= limit) return { ok: true, outcome, ms };
  }
  return { ok: false, signature: 'slow', message: `took ${ms.toFixed(0)} ms (the bound is ${limit} ms), twice` };
}

/** minimise shrinks a failing input while it fails with the same signature. */
export async function minimise(spec: HarnessSpec, h: Harness, input: Buffer, signature: string): Promise<Buffer> {
  const deadline = Date.now() + 20_000;
  const fails = async (b: Buffer): Promise<boolean> => {
    const r = await check(spec, h, b);
    return !r.ok && r.signature === signature;
  };
  let best = input;
  for (let size = best.length >> 1; size >= 1 && Date.now() < deadline; size >>= 1) {
    for (let at = 0; at + size <= best.length && Date.now() < deadline;) {
      const cut = Buffer.concat([best.subarray(0, at), best.subarray(at + size)]);
      if (await fails(cut)) best = cut;
      else at += size;
    }
  }
  // Simpler bytes read better in a report: try '0' and 'a' for binary noise, 0 for the rest.
  for (let i = 0; i < best.length && Date.now() < deadline; i++) {
    for (const v of [0x00, 0x30, 0x61]) {
      if (best[i] === v) break;
      const b = Buffer.from(best);
      b[i] = v;
      if (await fails(b)) {
        best = b;
        break;
      }
    }
  }
  return best;
}

function features(o: Outcome): readonly string[] {
  return typeof o === 'string' ? [o] : o;
}

/** CoverageBatch gathers inputs between two looks at V8's coverage (coverage.ts). A batch that
 * reached nothing new doubles the next one's size, up to MAX_BATCH; one that did starts small
 * again. Sizes follow from the inputs alone, so a run from one seed repeats. */
class CoverageBatch {
  private inputs: Buffer[] = [];
  private size = MIN_BATCH;

  constructor(
    readonly probe: CoverageProbe,
    private readonly run: (input: Buffer) => Promise<unknown>,
  ) {}

  /** add notes an input that just ran; when the batch is full it returns the inputs in it that
   * reached blocks never reached before. */
  async add(input: Buffer): Promise<Buffer[]> {
    this.inputs.push(input);
    if (this.inputs.length < this.size) return [];
    const batch = this.inputs;
    this.inputs = [];
    const reached = this.probe.take();
    if (!this.probe.novel(reached)) {
      this.size = Math.min(this.size * 2, MAX_BATCH);
      return [];
    }
    this.size = MIN_BATCH;
    const found = await attribute(this.probe, batch, reached, this.run);
    // Blocks no single input repeats (timers, a collector) would make every batch look new.
    this.probe.commit(reached);
    return found;
  }
}

const MIN_BATCH = 16;
const MAX_BATCH = 1024;

function emptyReport(name: string, seed: number): FuzzReport {
  return { name, seed, iterations: 0, seconds: 0, corpus: 0, blocks: 0, outcomes: new Map(), failures: [] };
}

// sum brings a report's running figures up to date.
function sum(r: FuzzReport, started: number, corpus: number, batch: CoverageBatch | null): void {
  Object.assign(r, { seconds: (Date.now() - started) / 1000, corpus, blocks: batch?.probe.size ?? 0 });
}

// dictionaryOf is the harness's dictionary and, for JSON, the words of its seeds as strings.
function dictionaryOf(h: Harness, words: readonly string[]): Buffer[] {
  return [
    ...(h.dictionary ?? []).map((d) => (typeof d === 'string' ? Buffer.from(d, 'latin1') : d)),
    ...words.filter((w) => w.length > 1).map((w) => Buffer.from(JSON.stringify(w))),
  ];
}

/** fuzz runs the mutation loop on a harness that is already set up. */
export async function fuzz(spec: HarnessSpec, h: Harness, opts: FuzzOptions): Promise<FuzzReport> {
  const rng = new Rng(opts.seed);
  const started = Date.now();
  const deadline = opts.seconds === undefined ? Infinity : started + opts.seconds * 1000;
  const maxIterations = opts.iterations ?? Infinity;
  const report = emptyReport(spec.name, opts.seed);
  const corpus: Buffer[] = [];
  const seen = new Set<string>();
  const words = h.json ? collectWords(h.seeds) : [];
  const ctx: MutationContext = {
    rng,
    other: () => (corpus.length > 0 ? rng.pick(corpus) : Buffer.alloc(0)),
    dictionary: dictionaryOf(h, words),
    maxLen: h.maxLen,
  };
  const keep = (input: Buffer): void => {
    if (corpus.length < MAX_CORPUS) corpus.push(input);
    else corpus[h.seeds.length + rng.below(MAX_CORPUS - h.seeds.length)] = input;
  };
  opts.coverage?.forget();
  const batch = opts.coverage ? new CoverageBatch(opts.coverage, (b) => check(spec, h, b)) : null;

  const consider = async (input: Buffer, force: boolean): Promise<void> => {
    opts.onInput?.(input, report.iterations);
    report.iterations++;
    const r = await check(spec, h, input);
    if (!r.ok) {
      if (report.failures.some((f) => f.signature === r.signature)) return;
      const minimised = await minimise(spec, h, input, r.signature);
      report.failures.push({
        signature: r.signature,
        message: r.message,
        input,
        minimised,
        iteration: report.iterations,
      });
      return;
    }
    let fresh = force;
    for (const f of features(r.outcome)) {
      report.outcomes.set(f, (report.outcomes.get(f) ?? 0) + 1);
      if (!seen.has(f)) {
        seen.add(f);
        fresh = true;
      }
    }
    if (fresh) keep(input);
    else if (batch) for (const b of await batch.add(input)) keep(b);
  };

  try {
    for (const s of h.seeds) await consider(s, true);
    batch?.probe.commit(batch.probe.take());
    let lastProgress = Date.now();
    const maxFailures = opts.maxFailures ?? 5;
    while (report.iterations < maxIterations && report.failures.length < maxFailures) {
      if ((report.iterations & 63) === 0) {
        const now = Date.now();
        if (now >= deadline) break;
        if (opts.onProgress && now - lastProgress >= 1000) {
          lastProgress = now;
          sum(report, started, corpus.length, batch);
          opts.onProgress(report);
        }
      }
      const parent = corpus.length > 0 ? rng.pick(corpus) : Buffer.alloc(0);
      const child = (h.json && rng.chance(2) ? mutateJson(parent, ctx, words) : null) ?? mutateBytes(parent, ctx);
      await consider(child, false);
    }
  } finally {
    sum(report, started, corpus.length, batch);
  }
  return report;
}

/** describeInput prints an input for a report: as a JSON string when it is text, else hex. */
export function describeInput(b: Buffer): string {
  const text = b.toString('utf8');
  // eslint-disable-next-line no-control-regex
  if (Buffer.from(text, 'utf8').equals(b) && !/[\u0000-\u0008\u000e-\u001f]/.test(text)) return JSON.stringify(text);
  return `hex:${b.toString('hex')}`;
}
