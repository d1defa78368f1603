// GET /v1/events on the real server: the wire format, the snapshot first, changes coalesced,
// a status every tick, the stream limit, and cleanup when clients or the server go away.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Status } from '../../../src-shared/wire/status.js';
import { startApiServer } from './server.js';
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import { SseParser, type SseEvent } from '../../../src-shared/lib/sse.js';
import { SAMPLE_STATUS as STATUS, quietLog } from './testing.js';

let dir = '';
let n = 0;
before(() => {
  dir = mkdtempSync(join(tmpdir(), 'warren-events-'));
});
after(() => rmSync(dir, { recursive: true, force: true }));
const socketPath = (): string => join(dir, `e${n++}`, 'warren.sock');

/** rawRequest sends bytes as they are and returns the raw answer. */
function rawRequest(path: string, data: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = connect(path, () => s.write(data));
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', () => resolve(Buffer.concat(chunks).toString('utf8')));
    s.on('error', reject);
  });
}

/** ChangeFeed is a change source the test triggers by hand, counting its listeners. */
class ChangeFeed {
  readonly listeners = new Set<() => void>();
  subscribe(l: () => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  fire(): void {
    for (const l of this.listeners) l();
  }
}

/** EventStream reads GET /v1/events raw, so the test sees the wire format. */
interface EventStream {
  headers: Record<string, string | string[] | undefined>;
  events: SseEvent[];
  raw: string[];
  /** ended resolves when the server ends the response. */
  ended: Promise<void>;
  next(timeoutMs?: number): Promise<SseEvent>;
  close(): void;
}

function openEventStream(path: string): Promise<EventStream> {
  return new Promise((resolve, reject) => {
    const events: SseEvent[] = [];
    const raw: string[] = [];
    const waiters: Array<() => void> = [];
    let read = 0;
    const req = request({ socketPath: path, path: PATHS.events, agent: false, headers: { Host: 'warren' } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new Error(`events answered ${res.statusCode}`));
        res.resume();
        return;
      }
      const parser = new SseParser(1 << 20);
      res.setEncoding('utf8');
      res.on('data', (c: string) => {
        raw.push(c);
        events.push(...parser.feed(c));
        for (const w of waiters.splice(0)) w();
      });
      res.on('error', () => undefined);
      const ended = new Promise<void>((r) => res.once('close', () => r()));
      resolve({
        headers: res.headers,
        events,
        raw,
        ended,
        async next(timeoutMs = 3000) {
          const deadline = Date.now() + timeoutMs;
          while (read >= events.length) {
            if (Date.now() > deadline) throw new Error(`no event within ${timeoutMs} ms`);
            await new Promise<void>((r) => {
              waiters.push(r);
              setTimeout(r, 50);
            });
          }
          return events[read++]!;
        },
        close: () => req.destroy(),
      });
    });
    req.on('error', reject);
    req.end();
  });
}

test('GET /v1/events: a snapshot first, then a status after a change, coalesced, and a status every tick', async () => {
  const path = socketPath();
  const feed = new ChangeFeed();
  let current: Status = { ...STATUS, state: 'connected' };
  let built = 0;
  const server = await startApiServer({
    socketPath: path,
    log: quietLog,
    events: feed,
    eventLimits: { tickMs: 60_000, coalesceMs: 100 },
    getStatus: () => {
      built++;
      return current;
    },
  });
  try {
    const s = await openEventStream(path);
    assert.match(String(s.headers['content-type']), /^text\/event-stream/);
    const first = await s.next();
    assert.equal(first.event, 'snapshot');
    assert.deepEqual(JSON.parse(first.data), current);
    assert.equal(feed.listeners.size, 1, 'the server listens for changes while a stream is open');

    current = { ...STATUS, state: 'disconnected' };
    feed.fire();
    const changed = await s.next();
    assert.equal(changed.event, 'status');
    assert.equal((JSON.parse(changed.data) as Status).state, 'disconnected');

    // A burst of 50 notifications within the coalescing window is exactly one more event (not
    // none: the burst is a change, and the tick is a minute away).
    const before = built;
    for (let i = 0; i < 50; i++) feed.fire();
    await new Promise((r) => setTimeout(r, 400));
    assert.equal(built - before, 1, `status built ${built - before} times for one burst`);
    assert.equal(s.events.length - 2, 1, `events after the burst: ${s.events.length - 2}`);
    assert.equal(s.events[2]!.event, 'status');
    s.close();
    await waitFor(() => feed.listeners.size === 0, 'the server stops listening once the last stream is closed');
  } finally {
    await server.close();
  }

  const ticking = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => STATUS,
    eventLimits: { tickMs: 100, heartbeatMs: 250 },
  });
  try {
    const s = await openEventStream(path);
    assert.equal((await s.next()).event, 'snapshot');
    const t0 = Date.now();
    for (let i = 0; i < 3; i++)
      assert.equal((await s.next(1000)).event, 'status', 'a status without any change notification');
    assert.ok(Date.now() - t0 < 1000);
    await waitFor(() => s.raw.join('').includes(': heartbeat\n\n'), 'a heartbeat comment');
    s.close();
  } finally {
    await ticking.close();
  }
});

test('GET /v1/events: streams are bounded, a refused one gets a JSON 503, and closing frees a place', async () => {
  const path = socketPath();
  const server = await startApiServer({
    socketPath: path,
    log: quietLog,
    getStatus: () => STATUS,
    eventLimits: { maxStreams: 2 },
  });
  try {
    const a = await openEventStream(path);
    const b = await openEventStream(path);
    await Promise.all([a.next(), b.next()]);
    const refused = await rawRequest(path, `GET ${PATHS.events} HTTP/1.1\r\nHost: warren\r\nConnection: close\r\n\r\n`);
    assert.match(refused, /^HTTP\/1\.1 503 /);
    assert.match(refused, /"code":"too-many-streams"/);
    a.close();
    await waitFor(async () => {
      try {
        const c = await openEventStream(path);
        c.close();
        return true;
      } catch {
        return false;
      }
    }, 'a place frees up after a stream closes');
    const post = await rawRequest(path, `POST ${PATHS.events} HTTP/1.1\r\nHost: warren\r\nConnection: close\r\n\r\n`);
    assert.match(post, /^HTTP\/1\.1 405 /);
    const origin = await rawRequest(
      path,
      `GET ${PATHS.events} HTTP/1.1\r\nHost: warren\r\nOrigin: http://evil.example\r\nConnection: close\r\n\r\n`,
    );
    assert.match(origin, /^HTTP\/1\.1 403 /);
    b.close();
  } finally {
    await server.close();
  }
});

test('close() ends open event streams', async () => {
  const path = socketPath();
  const server = await startApiServer({ socketPath: path, log: quietLog, getStatus: () => STATUS });
  const s = await openEventStream(path);
  await s.next();
  await server.close();
  await s.ended;
  assert.equal(existsSync(path), false);
});

async function waitFor(cond: () => boolean | Promise<boolean>, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
