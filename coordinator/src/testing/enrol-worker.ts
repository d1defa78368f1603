// A coordinator enrolling systems on a PostgreSQL database, in a process of its own as a
// second coordinator would be (store/pg-order.test.ts): it waits for the agreed start time so
// its batches overlap the other process's, enrols in batches as concurrent requests arrive,
// catches up with the other's changes between batches, waits until every system of both is
// stored, catches up once more and prints what it saw as JSON (EnrolReport).
import { parseCidr } from '../../../src-shared/lib/ip/ipv4.js';
import { enrol } from '../api/enrol.js';
import { catchUp, ChangeFollower } from '../store/pg-notify.js';
import { PostgresStore } from '../store/postgres-store.js';
import { Registry } from '../store/registry.js';
import { buildEnrolRequest, generateAgentKeys } from './agent-sim.js';

/** EnrolJob is what the process is given (JSON in its one argument). */
export interface EnrolJob {
  where: string;
  key: string;
  /** count systems, batch at a time, named prefix0, prefix1, ... */
  count: number;
  batch: number;
  prefix: string;
  /** total is how many systems both processes enrol together. */
  total: number;
  /** startAt is the wall-clock time (Unix ms) both processes start enrolling at. */
  startAt: number;
}

/** EnrolReport is what the process saw. */
export interface EnrolReport {
  /** changes are the change sequence numbers its transactions took. */
  changes: number[];
  /** enrolled are the ids of the systems it enrolled; refused the codes of the refusals. */
  enrolled: string[];
  refused: string[];
  /** known are the ids its memory held at the end. */
  known: string[];
}

const sleep = (ms: number): void => {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, Math.max(0, ms));
};

const job = JSON.parse(process.argv[2] ?? '{}') as EnrolJob;
const store = new PostgresStore(job.where);
const changes = new Set<number>();
/** note keeps the change numbers taken so far: a catch-up forgets the ones it has passed. */
const note = (): void => store.ownChanges.forEach((n) => changes.add(n));
try {
  const events = { changed: () => {}, revoked: () => {}, removed: () => {} };
  const r = new Registry(store, parseCidr('100.64.0.0/16')!, 'warren.internal', events, 0);
  const follower = new ChangeFollower(store, (c) => catchUp(r, Date.now(), c));
  const report: EnrolReport = { changes: [], enrolled: [], refused: [], known: [] };
  sleep(job.startAt - Date.now());
  for (let i = 0; i < job.count; i += job.batch) {
    note();
    follower.sync();
    const now = Date.now();
    const n = Math.min(job.batch, job.count - i);
    const out = await Promise.allSettled(
      Array.from({ length: n }, (_, j) =>
        r.batched(() => {
          const req = buildEnrolRequest(generateAgentKeys(), job.key, `${job.prefix}${i + j}`, [], now);
          return enrol(r, req, null, now).system.id;
        }),
      ),
    );
    for (const o of out) {
      if (o.status === 'fulfilled') report.enrolled.push(o.value);
      else report.refused.push(String((o.reason as { code?: unknown }).code ?? (o.reason as Error).message));
    }
  }
  // The other process's systems: all of them stored, then one more catch-up.
  const deadline = Date.now() + 60_000;
  while (store.listSystems().length < job.total && Date.now() < deadline) sleep(50);
  note();
  follower.sync();
  r.flushSoft();
  note();
  report.changes = [...changes].sort((a, b) => a - b);
  report.known = r.all().map((s) => s.id);
  process.stdout.write(JSON.stringify(report));
} finally {
  store.close();
}
