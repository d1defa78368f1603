// A synchronous door to PostgreSQL. The Store interface is synchronous (store.ts): the Registry
// answers reads from memory and a write returns only once its transaction committed. The `pg`
// client is asynchronous, so it runs in a worker thread (pg-worker.ts) and the coordinator's
// thread waits for each statement's answer with Atomics.wait, as better-sqlite3 waits for the
// disk. A statement on a nearby server costs a fraction of a millisecond, about what SQLite's
// fsync costs under synchronous=FULL.
import { MessageChannel, receiveMessageOnPort, Worker, type MessagePort } from 'node:worker_threads';
import type { BridgeReply, BridgeRequest, Rows, Statement } from './pg-worker.js';

/** PG_STATEMENT_TIMEOUT_MS bounds how long the coordinator waits for one answer. */
export const PG_STATEMENT_TIMEOUT_MS = 30_000;

/** PgError is PostgreSQL's refusal of a statement (code is its SQLSTATE, e.g. 23505). */
export class PgError extends Error {
  override name = 'PgError';
  constructor(
    message: string,
    readonly code: string | null,
    readonly constraint: string | null,
  ) {
    super(message);
  }
}

/** redactUrl drops the password from a connection URL, for messages and logs. */
export function redactUrl(url: string): string {
  return url.replace(/^(postgres(?:ql)?:\/\/[^:@/]*):[^@/]*@/, '$1:***@');
}

/** PgBridge runs statements on one connection, one at a time, synchronously. */
export class PgBridge {
  private readonly signal = new Int32Array(new SharedArrayBuffer(4));
  private readonly port: MessagePort;
  private readonly worker: Worker;
  private closed = false;
  /** counts are the statements sent: waited for (each a wait of the coordinator's thread) and
   * deferred (tests, and the round trips a batch costs). */
  readonly counts = { waited: 0, deferred: 0 };

  constructor(private readonly url: string) {
    const { port1, port2 } = new MessageChannel();
    this.port = port1;
    this.worker = new Worker(new URL('./pg-worker.js', import.meta.url), {
      workerData: { url, signal: this.signal, port: port2 },
      transferList: [port2],
    });
    this.worker.unref();
  }

  /** query runs one statement and returns its rows and command tag; PostgreSQL's refusal
   * throws PgError. */
  query<R = Record<string, unknown>>(
    sql: string,
    params?: unknown[],
  ): { rows: R[]; rowCount: number; command: string } {
    if (this.closed) throw new Error('the PostgreSQL store is closed');
    this.counts.waited++;
    const r = this.send({ sql, params });
    if (!r.ok) throw new PgError(r.message, r.code, r.constraint);
    return { rows: r.rows as R[], rowCount: r.rowCount, command: r.command };
  }

  /** queryAll sends statements together and waits once for all their answers, in order: one
   * round trip for a run such as a batch's last writes and its COMMIT, so the row locks the
   * writes take are held only while the server works through the rest of the run. The first
   * statement PostgreSQL refused throws PgError (those after it did not take effect). Each
   * answer carries its command tag: a COMMIT's says whether it committed. */
  queryAll(statements: readonly Statement[]): Rows[] {
    if (this.closed) throw new Error('the PostgreSQL store is closed');
    this.counts.waited++;
    const r = this.send({ all: [...statements] });
    if (!r.ok) throw new PgError(r.message, r.code, r.constraint);
    return r.all ?? [];
  }

  /** defer sends a statement whose answer the caller does not need (BEGIN, SAVEPOINT, an
   * INSERT of a row nothing reads back) without waiting for it: each round trip through the
   * worker costs the coordinator's thread its wait. If it fails, the next query() throws its
   * error instead of answering, so defer only where a query() follows (COMMIT does). */
  defer(sql: string, params?: unknown[]): void {
    if (this.closed) throw new Error('the PostgreSQL store is closed');
    this.counts.deferred++;
    this.port.postMessage({ sql, params, deferred: true } satisfies BridgeRequest);
  }

  close(): void {
    if (this.closed) return;
    try {
      this.send({ close: true });
    } finally {
      this.closed = true;
      void this.worker.terminate();
    }
  }

  private send(m: BridgeRequest): BridgeReply {
    Atomics.store(this.signal, 0, 0);
    this.port.postMessage(m);
    // A wake-up is not an answer: the worker's notify for the previous statement can land after
    // this statement's wait began (it stores, then notifies, and may be preempted in between),
    // so only the word turning 1, which the worker stores after posting this answer, ends it.
    const deadline = performance.now() + PG_STATEMENT_TIMEOUT_MS;
    while (Atomics.load(this.signal, 0) === 0) {
      const left = deadline - performance.now();
      if (left <= 0 || Atomics.wait(this.signal, 0, 0, left) === 'timed-out') {
        this.closed = true;
        void this.worker.terminate();
        throw new Error(
          `PostgreSQL at ${redactUrl(this.url)} did not answer within ${PG_STATEMENT_TIMEOUT_MS / 1000} s; check that the server is up and reachable, then restart the coordinator`,
        );
      }
    }
    const got = receiveMessageOnPort(this.port);
    if (!got) throw new Error('the PostgreSQL worker woke the coordinator without an answer');
    return got.message as BridgeReply;
  }
}
