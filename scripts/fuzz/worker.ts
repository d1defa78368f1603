// One harness in a worker thread, so that the CLI can stop an input that never returns or
// takes more memory than the worker's bound, and still say which input it was: every input is
// copied into shared memory before it runs.
import { parentPort, workerData } from 'node:worker_threads';
import { CoverageProbe } from './coverage.js';
import { fuzz, type FuzzReport, type Harness } from './engine.js';

// Coverage starts before the harnesses, and so the code under test, are imported.
const probe = new CoverageProbe();
const { harness } = await import('./harnesses/index.js');

/** WorkerJob is what the CLI asks a worker to do. */
export interface WorkerJob {
  name: string;
  seed: number;
  seconds: number;
  /** shared: [runs, length] as Int32, then the bytes of the input being run. */
  shared: SharedArrayBuffer;
}

/** WorkerMessage is what a worker reports. */
export type WorkerMessage = { type: 'progress' | 'done'; report: FuzzReport } | { type: 'error'; message: string };

// A worker may read the umask but not set it, and the local API server narrows it around its
// bind (helper/src/api/server.ts). The umask only guards the socket's permissions before chmod;
// the fuzzed socket lives in a private temporary folder, so setting is skipped here.
const umask = process.umask.bind(process) as () => number;
process.umask = ((_mask?: number) => umask()) as typeof process.umask;

async function main(): Promise<void> {
  const job = workerData as WorkerJob;
  const spec = harness(job.name);
  const meta = new Int32Array(job.shared, 0, 2);
  const data = new Uint8Array(job.shared, 8);
  const h = await spec.create();
  const watched: Harness = {
    ...h,
    run(input) {
      const n = Math.min(input.length, data.length);
      data.set(input.subarray(0, n));
      Atomics.store(meta, 1, n);
      Atomics.add(meta, 0, 1);
      return h.run(input);
    },
  };
  const post = (m: WorkerMessage): void => parentPort!.postMessage(m);
  try {
    const report = await fuzz(spec, watched, {
      seed: job.seed,
      seconds: job.seconds,
      coverage: probe,
      onProgress: (r) => post({ type: 'progress', report: r }),
    });
    post({ type: 'done', report });
  } finally {
    await h.close?.();
  }
}

main().catch((e: unknown) =>
  parentPort!.postMessage({ type: 'error', message: e instanceof Error ? (e.stack ?? e.message) : String(e) }),
);
