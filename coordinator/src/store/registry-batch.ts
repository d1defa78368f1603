// Group commit (registry.ts batched): the writes of requests that arrive together, a fleet
// enrolling at once, go into one store transaction, so they share one commit, which is what
// a write costs (SQLite's fsync under synchronous=FULL, PostgreSQL's round trip and WAL flush).
// Each request still runs whole and in turn on the one thread, in a savepoint of its own, and
// sees in memory what the ones before it in the batch did: addresses, names, identities, key
// uses and the keys' own rows are checked and taken exactly as when each had its own commit.
// What is acknowledged is committed: a request's promise settles only after the batch's commit.
import { ControlError } from '../http/errors.js';
import type { Store } from './store.js';

/** MAX_BATCH bounds the requests one transaction carries (and how long the first waits). */
export const MAX_BATCH = 128;

interface Queued {
  fn: () => unknown;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
}

type Outcome = { ok: true; value: unknown } | { ok: false; error: unknown };

/** BatchAborted ends a batch in which a request failed otherwise than by a refusal. */
class BatchAborted extends Error {}

/** WriteBatch queues requests' writes and runs them in one transaction per turn of the event loop. */
export class WriteBatch {
  private queue: Queued[] = [];
  private scheduled = false;

  /** resync brings the registry's memory back to what the store holds after a rollback. */
  constructor(
    private readonly store: () => Store,
    private readonly resync: () => void,
  ) {}

  /** transaction runs fn in one store transaction; as a batch (store.ts beginBatch), on
   * PostgreSQL its checks and the map version are written with its COMMIT (pg-batch.ts says
   * why batches of two coordinators then overlap without deadlocking), and recover runs the
   * requests again with the checks one by one. */
  private transaction(fn: () => void, batch: boolean): void {
    const store = this.store();
    store.transaction(() => {
      if (batch) store.beginBatch();
      fn();
    });
  }

  /** item runs one request's fn in a savepoint of that transaction. */
  private item<T>(fn: () => T): T {
    return this.store().transaction(fn);
  }

  /** run queues fn; it runs in the next batch, and the promise settles after that commits. */
  run<T>(fn: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.queue.push({ fn, resolve: resolve as (v: unknown) => void, reject });
      if (this.queue.length >= MAX_BATCH) this.flush();
      else if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => {
          this.scheduled = false;
          this.flush();
        });
      }
    });
  }

  /** flush runs what is queued. A request refused (a ControlError, thrown before it wrote or
   * rolled back to its savepoint) fails alone. Any other failure (a store error, the commit
   * itself, on PostgreSQL a deadlock with a writer outside batches) rolls the whole batch back,
   * and each request is run again in a transaction of its own: an error the database raised in
   * one request must not leave the others acknowledged in a transaction that cannot commit. */
  flush(): void {
    const items = this.queue;
    this.queue = [];
    if (items.length === 0) return;
    const out: Outcome[] = [];
    try {
      this.transaction(() => {
        for (const it of items) out.push(this.attempt(it));
      }, true);
    } catch {
      this.recover(items);
      return;
    }
    items.forEach((it, i) => {
      const r = out[i]!;
      if (r.ok) it.resolve(r.value);
      else it.reject(r.error);
    });
  }

  private attempt(it: Queued): Outcome {
    try {
      return { ok: true, value: this.item(it.fn) };
    } catch (e) {
      if (e instanceof ControlError) return { ok: false, error: e };
      throw new BatchAborted('a request in the batch failed', { cause: e });
    }
  }

  private recover(items: Queued[]): void {
    try {
      this.resync();
    } catch (re) {
      for (const it of items) it.reject(re);
      return;
    }
    // A lone request is run again too: with the checks deferred (a key's uses, on PostgreSQL
    // an insert's constraints), what failed may be a check that, run one by one, is answered
    // as the request's own refusal (KeyUsedUp) or with another address.
    for (const it of items) {
      let value: unknown;
      try {
        this.transaction(() => {
          value = this.item(it.fn);
        }, false);
        it.resolve(value);
      } catch (err) {
        // A refusal rolled back its own writes; anything else may have left memory ahead.
        if (!(err instanceof ControlError)) {
          try {
            this.resync();
          } catch {
            // The store is gone; this request's own error says so.
          }
        }
        it.reject(err);
      }
    }
  }
}
