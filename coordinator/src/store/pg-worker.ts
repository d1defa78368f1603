// The worker thread behind pg-bridge.ts: it holds the one PostgreSQL connection (the `pg`
// client, which is asynchronous) and answers each statement the coordinator's thread sends,
// then wakes that thread through the shared signal word.
import { workerData, type MessagePort } from 'node:worker_threads';
import pg from 'pg';

interface Init {
  url: string;
  signal: Int32Array;
  port: MessagePort;
}

/** Statement is one statement (params undefined: the simple protocol, several statements
 * allowed, as migrations need). */
export interface Statement {
  sql: string;
  params?: unknown[];
}

/** BridgeRequest is one statement, a run of statements answered together (pg-bridge.ts
 * queryAll), or close. A deferred statement gets no reply: its error, if any, is the reply to
 * the next request that gets one (pg-bridge.ts defer). */
export type BridgeRequest = (Statement & { deferred?: boolean }) | { all: Statement[] } | { close: true };

/** Rows are one statement's answer; command is its command tag (a COMMIT of a transaction
 * PostgreSQL had aborted answers 'ROLLBACK', without an error). */
export interface Rows {
  rows: Record<string, unknown>[];
  rowCount: number;
  command: string;
}

/** BridgeReply is a statement's rows (for a run, every statement's), or the first error
 * PostgreSQL (or the connection) gave. */
export type BridgeReply =
  ({ ok: true; all?: Rows[] } & Rows) | { ok: false; message: string; code: string | null; constraint: string | null };

const { url, signal, port } = workerData as Init;
// BIGINT (int8, OID 20) columns hold Unix milliseconds, addresses and counters, all well
// within Number.MAX_SAFE_INTEGER; pg returns them as strings unless told.
pg.types.setTypeParser(20, (v: string) => Number(v));
// Pipeline mode: each statement goes out as it arrives, without waiting for the answers to the
// ones before it (PostgreSQL answers them in order, each ended by its own Sync, so an error
// aborts the open transaction as it would one at a time). A batch's deferred statements
// (pg-bridge.ts defer) then cost the server's work, not a round trip each.
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000, pipeline: true });
let lost: Error | null = null;
/** deferredError is the first error of a deferred statement since the last reply. */
let deferredError: BridgeReply | null = null;
client.on('error', (e: Error) => (lost = e));
const ready = client.connect();
ready.catch(() => {});

function reply(r: BridgeReply): void {
  port.postMessage(r);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

function fail(e: unknown): BridgeReply {
  const err = e as { message?: unknown; code?: unknown; constraint?: unknown };
  return {
    ok: false,
    message: String(err.message ?? e),
    code: typeof err.code === 'string' ? err.code : null,
    constraint: typeof err.constraint === 'string' ? err.constraint : null,
  };
}

type Answer = Promise<pg.QueryResult | pg.QueryResult[]>;

/** send hands a statement to the client at once (it queues it until connected). */
function send(m: Statement): Answer {
  if (lost) return Promise.reject(lost);
  const q = client.query({ text: m.sql, values: m.params }) as Promise<pg.QueryResult | pg.QueryResult[]>;
  q.catch(() => {});
  return q;
}

/** rowsOf is a statement's answer; a multi-statement query answers with one result per
 * statement, and the last one counts. */
async function rowsOf(answer: Answer): Promise<Rows> {
  const q = await answer;
  const last = Array.isArray(q) ? (q[q.length - 1] as pg.QueryResult) : q;
  return {
    rows: (last?.rows ?? []) as Record<string, unknown>[],
    rowCount: last?.rowCount ?? 0,
    command: last?.command ?? '',
  };
}

/** handle answers one request once its statements' answers came; it never throws (an error is
 * the reply, or kept for the next). */
async function handle(m: BridgeRequest, answers: Answer[] | null): Promise<void> {
  if ('close' in m || answers === null) {
    await client.end().catch(() => {});
    reply({ ok: true, rows: [], rowCount: 0, command: '' });
    port.close();
    return;
  }
  let r: BridgeReply;
  try {
    await ready;
    if (lost) throw lost;
    // In order: the first statement that failed is the answer (PostgreSQL aborts the
    // transaction there, and a COMMIT after it answers ROLLBACK without an error).
    const all: Rows[] = [];
    for (const a of answers) all.push(await rowsOf(a));
    const last = all[all.length - 1] ?? { rows: [], rowCount: 0, command: '' };
    r = { ok: true, ...last, ...('all' in m ? { all } : {}) };
  } catch (e) {
    r = fail(e);
  }
  if ('deferred' in m && m.deferred) {
    if (!r.ok) deferredError ??= r;
    return;
  }
  // Statements run one after another in the order they came, so a deferred one that failed
  // ran before this one: its error is the cause of whatever this one answered.
  reply(deferredError ?? r);
  deferredError = null;
}

// Statements are sent as they come; their answers are handled one at a time, in order, so a
// deferred statement's error is known before the next waited one is answered.
let chain: Promise<void> = Promise.resolve();
port.on('message', (m: BridgeRequest) => {
  const answers = 'close' in m ? null : 'all' in m ? m.all.map(send) : [send(m)];
  chain = chain.then(() => handle(m, answers));
});
