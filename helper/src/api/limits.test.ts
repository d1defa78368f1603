// Exhaustion of the local API by unprivileged users, with real users on the real server and the
// shipped limits: strangers open every connection and event stream they can and hold them, and
// root's status and an operator's event stream must still work.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcessWithoutNullStreams } from 'node:child_process';
import { API_LIMITS } from '../../../src-shared/wire/helper-api.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { startApiServer } from './server.js';
import { spawnNodeAs, TestUsers, usersSkipReason } from './test-users.js';
import { SAMPLE_STATUS as STATUS } from './testing.js';

// holder is the script a stranger runs: it tries `streams` event streams, then `plain`
// connections, one at a time, and keeps every one the helper accepts. A plain connection is held
// by a request whose body never comes (the server waits for it). After a refusal it waits for the
// server to close, so the next attempt meets the server's count as it is. It prints what
// happened, then, on a line on stdin, how many of the accepted connections are still open.
const holder = (path: string, streams: number, plain: number): string => `
import { connect } from 'node:net';
const [path, streams, plain] = ${JSON.stringify([path, streams, plain])};
const held = [];
const out = { streams: 0, plain: 0, refused: [] };
function attempt(request, done) {
  return new Promise((resolve) => {
    const s = connect(path);
    let text = '';
    let settled = false;
    const finish = (r) => { if (!settled) { settled = true; resolve(r); } };
    s.on('error', (e) => finish({ kind: 'error', detail: e.code }));
    let refusal = null;
    s.on('close', () => finish(refusal ?? { kind: 'closed', detail: text.slice(0, 300) }));
    s.on('connect', () => s.write(request));
    s.on('data', (c) => {
      text += c.toString();
      const head = /^HTTP\\/1\\.1 (\\d{3})/.exec(text);
      if (!head || settled || refusal) return;
      if (head[1] !== '200') {
        const body = text.indexOf('\\r\\n\\r\\n');
        const len = /content-length: (\\d+)/i.exec(text);
        if (body < 0 || !len || text.length < body + 4 + Number(len[1])) return;
        refusal = { kind: 'refused', status: Number(head[1]), detail: JSON.parse(text.slice(body + 4)).error };
        setTimeout(() => s.destroy(), 2000).unref();
        return;
      }
      if (done(text, s)) { held.push(s); finish({ kind: 'held' }); }
    });
  });
}
for (let i = 0; i < streams; i++) {
  const r = await attempt('GET /v1/events HTTP/1.1\\r\\nHost: warren\\r\\n\\r\\n', (t) => t.includes('event: snapshot'));
  if (r.kind === 'held') out.streams++; else out.refused.push({ what: 'stream', ...r });
}
for (let i = 0; i < plain; i++) {
  const r = await attempt('GET /v1/caller HTTP/1.1\\r\\nHost: warren\\r\\n\\r\\n', (t, s) => {
    if (!t.includes('"privileged"')) return false;
    s.write('POST /v1/caller HTTP/1.1\\r\\nHost: warren\\r\\nContent-Length: 100\\r\\n\\r\\n');
    return true;
  });
  if (r.kind === 'held') out.plain++; else out.refused.push({ what: 'connection', ...r });
}
console.log(JSON.stringify(out));
process.stdin.on('data', () => {
  console.log(JSON.stringify({ stillOpen: held.filter((s) => !s.destroyed && s.readyState === 'open').length }));
  process.exit(0);
});
`;

interface Refusal {
  what: 'stream' | 'connection';
  kind: string;
  status?: number;
  detail: { code: string; message: string } | string;
}
interface HolderReport {
  streams: number;
  plain: number;
  refused: Refusal[];
}

/** Child is a spawned process with its stdout split into lines as they come. A child prints its
 * last line and exits at once: its 'exit' can come before that line is read from the pipe, so
 * only 'close' (every stdio stream ended) says no line is still to come. */
class Child {
  private lines: string[] = [];
  private waiters: (() => void)[] = [];
  private stderr = '';
  private closed = false;
  constructor(readonly proc: ChildProcessWithoutNullStreams) {
    let buf = '';
    proc.stdout.on('data', (c: Buffer) => {
      buf += c.toString();
      const parts = buf.split('\n');
      buf = parts.pop()!;
      this.lines.push(...parts.filter((l) => l.trim() !== ''));
      for (const w of this.waiters.splice(0)) w();
    });
    proc.stderr.on('data', (c: Buffer) => (this.stderr += c.toString()));
    proc.once('close', () => {
      this.closed = true;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  async nextJson<T>(timeoutMs = 60_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    while (this.lines.length === 0) {
      if (this.closed || Date.now() > deadline) {
        throw new Error(`child gave no line (exit ${this.proc.exitCode}): ${this.stderr.slice(0, 2000)}`);
      }
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 200);
      });
    }
    return JSON.parse(this.lines.shift()!) as T;
  }
}

const message = (r: Refusal): string => (typeof r.detail === 'string' ? r.detail : r.detail.message);

const usersSkip = usersSkipReason();
test(
  "strangers holding every connection and stream they may get cannot fail root's status or an operator's events",
  { skip: usersSkip, timeout: 120_000 },
  async (t) => {
    const users = new TestUsers();
    const root = mkdtempSync(join(tmpdir(), 'warren-api-limits-'));
    chmodSync(root, 0o755);
    const children: ChildProcessWithoutNullStreams[] = [];
    try {
      const group = users.group('op');
      const operator = users.user('op', { extra: [group] });
      const strangers = Array.from({ length: 6 }, (_, i) => users.user(`s${i}`));
      const path = join(root, 'warren.sock');
      const server = await startApiServer({
        socketPath: path,
        log: createLogger(0, { write: () => true }),
        getStatus: () => STATUS,
        operatorGroup: group,
      });
      try {
        // The operator's client loads first (it may take a while), then waits for "go".
        const clientUrl = new URL('../../../src-shared/lib/helper-client/client.js', import.meta.url).href;
        const op = new Child(
          spawnNodeAs(
            operator,
            `const { ApiClient } = await import(${JSON.stringify(clientUrl)});
            console.log(JSON.stringify({ loaded: true }));
            process.stdin.once('data', async () => {
              const c = new ApiClient(${JSON.stringify(path)});
              const name = (e) => e.constructor.name + ' ' + (e.httpStatus ?? '') + ' ' + e.message;
              const out = { event: '', privileged: null };
              out.event = await new Promise((resolve) => {
                const sub = c.subscribe((ev) => { sub.close(); resolve(ev.kind); }, (e) => { sub.close(); resolve(name(e)); });
              });
              try { out.privileged = (await c.caller()).privileged; } catch (e) { out.privileged = name(e); }
              console.log(JSON.stringify(out));
              process.exit(0);
            });`,
            100_000,
          ),
        );
        children.push(op.proc);
        const loaded = await op.nextJson<{ loaded?: boolean }>().catch((e: Error) => e);
        if (loaded instanceof Error && /Cannot find module|ERR_MODULE_NOT_FOUND|EACCES/.test(loaded.message)) {
          t.skip(`the operator's child cannot load the client: ${loaded.message.slice(0, 200)}`);
          return;
        }
        assert.deepEqual(loaded, { loaded: true });

        // Every stranger in turn tries more than the whole server offers, and keeps what it gets.
        const holders: Child[] = [];
        const reports: HolderReport[] = [];
        for (const u of strangers) {
          const p = spawnNodeAs(
            u,
            holder(path, API_LIMITS.maxEventStreams + 4, API_LIMITS.maxConnections + 6),
            100_000,
          );
          p.stdin.on('error', () => undefined);
          children.push(p);
          const h = new Child(p);
          holders.push(h);
          reports.push(await h.nextJson<HolderReport>());
        }

        // Root's status works, and so does its event stream.
        const rootClient = new ApiClient(path);
        assert.equal((await rootClient.status()).identity, 'G982V', "root's status");
        const rootEvent = await new Promise<string>((resolve) => {
          const sub = rootClient.subscribe(
            (ev) => {
              sub.close();
              resolve(ev.kind);
            },
            (e) => {
              sub.close();
              resolve(`${e.constructor.name}: ${e.message}`);
            },
          );
        });
        assert.equal(rootEvent, 'snapshot', "root's event stream");
        // The operator's event stream is accepted.
        op.proc.stdin.write('go\n');
        assert.deepEqual(await op.nextJson(), { event: 'snapshot', privileged: true }, "the operator's event stream");

        // Each stranger held what it was given the whole time.
        for (const h of holders) h.proc.stdin.write('report\n');
        const still = await Promise.all(holders.map((h) => h.nextJson<{ stillOpen: number }>()));
        assert.deepEqual(
          still.map((s) => s.stillOpen),
          reports.map((r) => r.streams + r.plain),
          'the strangers kept every connection they were given',
        );

        const perUser = API_LIMITS.maxConnectionsPerUser;
        const streamsPerUser = API_LIMITS.maxEventStreamsPerUser;
        // One stranger at its maximum: all its streams, then connections up to the per-user bound.
        assert.deepEqual([reports[0]!.streams, reports[0]!.plain], [streamsPerUser, perUser - streamsPerUser]);
        const first = reports[0]!.refused;
        assert.ok(
          first.every((r) => r.kind === 'refused' && r.status === 503),
          JSON.stringify(first[0]),
        );
        assert.match(message(first.find((r) => r.what === 'stream')!), /already has 4 event streams open/);
        assert.match(message(first.find((r) => r.what === 'connection')!), /already has 8 connections open/);
        // Together the strangers hold exactly what is theirs, and the rest is refused with why.
        const held = reports.reduce((n, r) => n + r.streams + r.plain, 0);
        const streams = reports.reduce((n, r) => n + r.streams, 0);
        assert.equal(held, API_LIMITS.maxUnprivilegedConnections);
        assert.equal(streams, API_LIMITS.maxUnprivilegedEventStreams);
        assert.match(
          message(reports[2]!.refused.find((r) => r.what === 'stream')!),
          new RegExp(`users outside root and the "${group}" group together hold 8 event streams, all they may`),
        );
        const last = reports[reports.length - 1]!;
        assert.deepEqual([last.streams, last.plain], [0, 0]);
        assert.match(
          message(last.refused.find((r) => r.what === 'connection')!),
          new RegExp(`users outside root and the "${group}" group together hold 40 connections`),
        );
        assert.ok(
          last.refused.every((r) => typeof r.detail !== 'string' && r.detail.code === 'too-many-connections'),
          'a refused connection gets a JSON 503 that says why',
        );
      } finally {
        for (const c of children) c.kill('SIGKILL');
        await server.close();
      }
    } finally {
      users.cleanup();
      rmSync(root, { recursive: true, force: true });
    }
  },
);
