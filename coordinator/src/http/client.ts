// A small HTTP(S) client over node:http, used by the admin commands, the reference agent and
// tests: fetch() cannot trust one extra CA per request, and the bench needs thousands of
// plain streams without a connection pool in the way.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** HttpResponse is a finished response with its whole body (bounded by maxBytes). */
export interface HttpResponse {
  status: number;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** RequestOptions for send and openStream. */
export interface RequestOptions {
  method: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** ca is a PEM certificate to trust (for a coordinator with a self-signed certificate). */
  ca?: string | Buffer;
  timeoutMs?: number;
  maxBytes?: number;
}

function start(url: string, o: RequestOptions): ReturnType<typeof httpRequest> {
  const u = new URL(url);
  const fn = u.protocol === 'https:' ? httpsRequest : httpRequest;
  const headers: Record<string, string> = { ...o.headers };
  if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
  return fn(u, { method: o.method, headers, ...(o.ca ? { ca: o.ca } : {}), agent: false });
}

/** send makes one request and reads the whole response. */
export function send(url: string, o: RequestOptions): Promise<HttpResponse> {
  const max = o.maxBytes ?? 32 * 1024 * 1024;
  return new Promise((resolve, reject) => {
    const req = start(url, o);
    const timer = setTimeout(
      () => req.destroy(new Error(`no answer from ${url} within ${o.timeoutMs ?? 30_000} ms`)),
      o.timeoutMs ?? 30_000,
    );
    req.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        size += c.length;
        if (size > max) req.destroy(new Error(`the answer from ${url} is longer than ${max} bytes`));
        else chunks.push(c);
      });
      res.on('end', () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(e);
      });
    });
    req.end(o.body);
  });
}

/** openStream makes a request and hands back the response as it arrives (for SSE). */
export function openStream(url: string, o: RequestOptions): Promise<{ res: IncomingMessage; abort(): void }> {
  return new Promise((resolve, reject) => {
    const req = start(url, o);
    req.on('error', reject);
    req.on('response', (res) => resolve({ res, abort: () => req.destroy() }));
    req.end(o.body);
  });
}
