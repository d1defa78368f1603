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

/** BridgeRequest is one statement (params undefined: the simple protocol, several statements
 * allowed, as migrations need), or close. */
export type BridgeRequest = { sql: string; params?: unknown[] } | { close: true };

/** BridgeReply is a statement's rows, or the error PostgreSQL (or the connection) gave. */
export type BridgeReply =
  | { ok: true; rows: Record<string, unknown>[]; rowCount: number }
  | { ok: false; message: string; code: string | null; constraint: string | null };

const { url, signal, port } = workerData as Init;
// BIGINT (int8, OID 20) columns hold Unix milliseconds, addresses and counters, all well
// within Number.MAX_SAFE_INTEGER; pg returns them as strings unless told.
pg.types.setTypeParser(20, (v: string) => Number(v));
const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
let lost: Error | null = null;
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

port.on('message', (m: BridgeRequest) => {
  void (async () => {
    if ('close' in m) {
      await client.end().catch(() => {});
      reply({ ok: true, rows: [], rowCount: 0 });
      port.close();
      return;
    }
    try {
      await ready;
      if (lost) throw lost;
      const r = await client.query({ text: m.sql, values: m.params });
      // A multi-statement query answers with one result per statement; the last one counts.
      const last = Array.isArray(r) ? (r[r.length - 1] as pg.QueryResult) : r;
      reply({ ok: true, rows: (last?.rows ?? []) as Record<string, unknown>[], rowCount: last?.rowCount ?? 0 });
    } catch (e) {
      reply(fail(e));
    }
  })();
});
