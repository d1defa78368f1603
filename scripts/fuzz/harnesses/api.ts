// The local API server (helper/src/api/server.ts): routing, limits and JSON bodies of whatever a
// local process writes to the socket. Each input is sent as raw bytes on a new connection to a
// real server on a temporary socket, whose routes echo the body they parsed.
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HarnessSpec } from '../engine.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { PATHS } from '../../../src-shared/wire/helper-api.js';
import { requirePrivileged, startApiServer, type RouteTable } from '../../../helper/src/api/server.js';
import { SAMPLE_STATUS as STATUS } from '../../../helper/src/api/testing.js';

/** ANSWER_MS bounds how long a request may go without an answer or a close. */
const ANSWER_MS = 3000;

interface Exchange {
  bytes: Buffer;
  closed: boolean;
  stream: boolean;
}

// exchange writes the input, half-closes and collects the answer until the server closes (an
// event stream is cut once its head arrives: it never ends by itself).
function exchange(path: string, input: Buffer): Promise<Exchange> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const s = connect(path, () => s.end(input));
    const done = (closed: boolean, stream = false): void => {
      clearTimeout(timer);
      s.destroy();
      resolve({ bytes: Buffer.concat(chunks), closed, stream });
    };
    const timer = setTimeout(() => done(false), ANSWER_MS);
    s.on('data', (c: Buffer) => {
      chunks.push(c);
      if (/content-type: text\/event-stream/i.test(Buffer.concat(chunks).toString('latin1'))) done(true, true);
    });
    s.on('close', () => done(true));
    s.on('error', () => done(true));
  });
}

/** bodyOf splits a response body (by Content-Length or chunked) from what follows it. */
function bodyOf(head: string, rest: Buffer): [Buffer, Buffer] {
  const length = /\r\ncontent-length: (\d+)/i.exec(head);
  if (length) return [rest.subarray(0, Number(length[1])), rest.subarray(Number(length[1]))];
  if (!/\r\ntransfer-encoding: chunked/i.test(head)) return [Buffer.alloc(0), rest];
  // Node writes its own refusals (a request without Host, say) chunked.
  const parts: Buffer[] = [];
  for (let at = 0; ;) {
    const eol = rest.indexOf('\r\n', at);
    assert.ok(eol > at, 'a chunked answer without a chunk-size line');
    const n = parseInt(rest.toString('latin1', at, eol), 16);
    parts.push(rest.subarray(eol + 2, eol + 2 + n));
    at = eol + 2 + n + 2;
    if (n === 0) return [Buffer.concat(parts), rest.subarray(at)];
  }
}

/** responses splits what the server wrote into responses and checks each. */
function responses(ex: Exchange): string[] {
  const out: string[] = [];
  let rest = ex.bytes;
  while (rest.length > 0) {
    const end = rest.indexOf('\r\n\r\n');
    assert.ok(
      end > 0 || ex.stream,
      `the server wrote something that is not an HTTP response: ${rest.toString('latin1', 0, 200)}`,
    );
    if (end < 0) break;
    const head = rest.toString('latin1', 0, end);
    const m = /^HTTP\/1\.1 (\d{3}) /.exec(head);
    assert.ok(m, `bad status line: ${head.slice(0, 100)}`);
    const status = Number(m[1]);
    assert.notEqual(status, 500, 'an internal error: a request made the server fail');
    if (/\r\ncontent-type: text\/event-stream/i.test(head)) {
      // An event stream never ends and was cut mid-chunk: its head is all there is to check.
      assert.equal(status, 200, 'an event stream with an error status');
      out.push('stream');
      break;
    }
    const json = /\r\ncontent-type: application\/json/i.test(head);
    const [body, after] = bodyOf(head, rest.subarray(end + 4));
    rest = after;
    if (json) {
      const v = JSON.parse(body.toString('utf8')) as { error?: { code?: unknown; message?: unknown } };
      if (status >= 400)
        assert.ok(typeof v.error?.code === 'string' && typeof v.error.message === 'string', 'bad error body');
      out.push(`${status}:${status >= 400 ? String(v.error?.code) : 'ok'}`);
    } else {
      // Only Node's own parser answers without JSON: 400, 413, 414 or 431 with no body.
      assert.ok([400, 413, 414, 431].includes(status), `a ${status} answer without a JSON body`);
      out.push(`${status}:node`);
    }
  }
  return out;
}

export const api: HarnessSpec = {
  name: 'api-server',
  properties: [
    'every request written to the socket is answered or the connection closed within 3 s',
    'no request makes the server answer 500 or log an error',
    'every answer is well-formed HTTP; JSON answers parse, and errors carry a code and a message',
    'the server still answers GET /v1/status after each input',
  ],
  timeLimitMs: 2 * ANSWER_MS,
  testIterations: 300,
  async create() {
    const dir = mkdtempSync(join(tmpdir(), 'warren-fuzz-api-'));
    const socketPath = join(dir, 'api.sock');
    const errors: string[] = [];
    const log = createLogger(1, {
      write: (line: string) => {
        if (/ ERROR /.test(line)) errors.push(line);
        return true;
      },
    });
    const echo = (req: { body: unknown }): unknown => ({ echo: req.body });
    const routes: RouteTable = {
      [PATHS.why]: { GET: (req) => ({ query: [...req.query.entries()] }), POST: echo },
      [PATHS.connect]: { POST: (req) => (requirePrivileged(req), echo(req)) },
      [PATHS.exitNodes]: { GET: () => [], POST: echo },
    };
    const server = await startApiServer({ socketPath, log, getStatus: () => STATUS, routes });
    const status = Buffer.from('GET /v1/status HTTP/1.1\r\nHost: warren\r\nConnection: close\r\n\r\n');
    return {
      seeds: [
        status,
        'POST /v1/why HTTP/1.1\r\nHost: warren\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{"peer":"x"}\n',
        'POST /v1/connect HTTP/1.1\r\nContent-Length: 2\r\n\r\n{}',
        'GET /v1/why?peer=G982V&x=%zz HTTP/1.1\r\n\r\nGET /v1/caller HTTP/1.1\r\n\r\n',
        'POST /v1/exit-nodes HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n[]\r\n0\r\n\r\n',
        'GET /v1/events HTTP/1.1\r\n\r\n',
        'DELETE /v1/status HTTP/1.1\r\nOrigin: http://evil\r\n\r\n',
      ].map((s) => (typeof s === 'string' ? Buffer.from(s, 'latin1') : s)),
      dictionary: [
        '\r\n',
        '\r\n\r\n',
        'Content-Length: ',
        'Transfer-Encoding: chunked',
        '/v1/',
        '?',
        '%',
        '{"a":',
        '"__proto__"',
      ],
      maxLen: 70 * 1024,
      async run(input) {
        const ex = await exchange(socketPath, input);
        assert.ok(ex.closed, 'neither answered nor closed within the bound');
        const out = responses(ex);
        assert.deepEqual(errors.splice(0), [], 'the server logged an error');
        const after = await exchange(socketPath, status);
        assert.match(after.bytes.toString('latin1'), /^HTTP\/1\.1 200 /, 'the server stopped answering');
        return out.length === 0 ? 'closed' : out;
      },
      async close() {
        await server.close();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
