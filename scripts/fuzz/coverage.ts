// Code coverage from V8 itself, through the inspector's precise block coverage: every block of
// the code under test that ran since the last look. One look costs milliseconds (V8 reports
// every function of every script), a thousand times one input of a fast parser, so the engine
// looks once per batch of inputs and, only when a batch reached a block never reached before,
// halves it until it knows which inputs did. Once the blocks a parser can reach easily are all
// seen, that is rare, and the loop runs at nearly its uninstrumented speed.
//
// The blocks counted are those of the project's code and its packages, not of the fuzzer's own
// files (scripts/fuzz) or Node's internals, which would reward inputs for how a harness checks
// them rather than for what they made a parser do.
import { Session } from 'node:inspector';

/** Blocks is a set of blocks that ran, named "script:start-end". */
export type Blocks = readonly string[];

/** CoverageProbe reads which blocks ran and remembers which were ever seen. Start it before the
 * code under test is imported: V8 counts blocks only in functions compiled after coverage
 * started, and sees a function compiled before as one block. */
export class CoverageProbe {
  private readonly session = new Session();
  private readonly seen = new Set<string>();
  private readonly scripts = new Map<string, number>();

  constructor() {
    this.session.connect();
    this.post('Profiler.enable');
    // callCount: counts, which V8 resets on each take, so each look sees only what ran since
    // the last one; detailed: blocks within functions, not only whole functions.
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  /** size is how many distinct blocks have been seen. */
  get size(): number {
    return this.seen.size;
  }

  /** take returns the blocks that ran since the last take. */
  take(): Blocks {
    const r = this.post('Profiler.takePreciseCoverage') as {
      result: { url: string; functions: { ranges: { startOffset: number; endOffset: number; count: number }[] }[] }[];
    };
    const out: string[] = [];
    for (const script of r.result) {
      if (!script.url.startsWith('file:') || script.url.includes('/scripts/fuzz/')) continue;
      let id = this.scripts.get(script.url);
      if (id === undefined) this.scripts.set(script.url, (id = this.scripts.size));
      for (const f of script.functions) {
        for (const range of f.ranges) if (range.count > 0) out.push(`${id}:${range.startOffset}-${range.endOffset}`);
      }
    }
    return out;
  }

  /** novel says whether any of blocks was never seen. */
  novel(blocks: Blocks): boolean {
    return blocks.some((b) => !this.seen.has(b));
  }

  /** commit marks blocks as seen. */
  commit(blocks: Blocks): void {
    for (const b of blocks) this.seen.add(b);
  }

  /** forget empties the set of blocks seen, for the next harness, and what ran until now. */
  forget(): void {
    this.take();
    this.seen.clear();
  }

  // post sends a command; a session in the same thread answers before post returns.
  private post(method: string, params?: object): unknown {
    let out: unknown;
    let err: Error | null = null;
    this.session.post(method, params, (e, r) => {
      err = e;
      out = r;
    });
    if (err) throw err;
    return out;
  }
}

/** attribute finds the inputs of a batch that reached new blocks: run is called again on
 * halves of the batch, and a half that reaches nothing new is dropped whole. blocks is what the
 * whole batch reached; the inputs found have their blocks committed. */
export async function attribute(
  probe: CoverageProbe,
  batch: readonly Buffer[],
  blocks: Blocks,
  run: (input: Buffer) => Promise<unknown>,
): Promise<Buffer[]> {
  if (batch.length === 1) {
    probe.commit(blocks);
    return [batch[0]!];
  }
  const found: Buffer[] = [];
  const mid = batch.length >> 1;
  for (const half of [batch.slice(0, mid), batch.slice(mid)]) {
    probe.take();
    for (const input of half) await run(input);
    const reached = probe.take();
    if (probe.novel(reached)) found.push(...(await attribute(probe, half, reached, run)));
  }
  return found;
}
