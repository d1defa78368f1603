// A second coordinator's token-check claims, in a process of its own as another coordinator
// would be (store/user-claims.test.ts): it opens the database, waits for the agreed start time
// so its claims race the other process's, claims the listed users' checks at one instant, and
// prints the ids it got as JSON.
import { openStoreAt, type Backend } from './store-backends.js';

/** ClaimJob is what the process is given (JSON in its one argument). */
export interface ClaimJob {
  backend: Backend['name'];
  where: string;
  ids: string[];
  signIn: number;
  now: number;
  intervalMs: number;
  /** startAt is the wall-clock time (Unix ms) both processes start claiming at. */
  startAt: number;
}

const job = JSON.parse(process.argv[2] ?? '{}') as ClaimJob;
const store = openStoreAt(job.backend, job.where);
try {
  const wait = new Int32Array(new SharedArrayBuffer(4));
  const left = job.startAt - Date.now();
  if (left > 0) Atomics.wait(wait, 0, 0, left);
  const claimed = job.ids.filter((id) => store.claimUserCheck(id, job.signIn, job.now, job.intervalMs) === null);
  process.stdout.write(JSON.stringify(claimed));
} finally {
  store.close();
}
