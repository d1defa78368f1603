// Plain-HTTP forwarding for the egress proxy: one request per client connection. The request
// goes upstream in origin-form (RFC 9112 §3.2.1) with `Connection: close`, followed by exactly
// its body; whatever the client sends after that is read and dropped. The origin's response
// head is passed back with its hop-by-hop fields replaced by `Connection: close` (RFC 9112
// §9.6), so the client neither reuses the connection for a second request (which would reach
// this origin unchecked) nor waits for one; the response body is then relayed untouched until
// the origin closes. Keep-alive would need message framing both ways and a policy decision per
// request; one request per connection keeps the proxy a byte pipe once the heads are through.

import type { Socket } from 'node:net';
import { bodyTracker, type BodyFraming } from './http-body.js';
import {
  HeadCollector,
  connectionTokens,
  formatHostPort,
  parseResponseHead,
  splitHostPort,
  type RequestHead,
} from './http-head.js';
import { closeAfterFlush, relay } from './relay.js';

/** MAX_RESPONSE_HEAD bounds an origin's response head, interim (1xx) heads included. */
export const MAX_RESPONSE_HEAD = 64 * 1024;

const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authorization',
  'proxy-authenticate',
  'te',
  'trailer',
  'upgrade',
]);

/** AbsoluteTarget is an `http://` request target split for forwarding. */
export interface AbsoluteTarget {
  host: string;
  port: number;
  path: string;
}

/** parseAbsoluteHttp splits an absolute-form `http://` target, or returns a reason. */
export function parseAbsoluteHttp(target: string): AbsoluteTarget | string {
  if (!/^http:\/\//i.test(target)) {
    return target.startsWith('/')
      ? 'origin-form request to a proxy (use an absolute http:// URL)'
      : 'only http:// URLs or CONNECT';
  }
  const afterScheme = target.slice(7);
  const slash = afterScheme.search(/[/?#]/);
  const authority = slash < 0 ? afterScheme : afterScheme.slice(0, slash);
  let path = slash < 0 ? '/' : afterScheme.slice(slash);
  const hash = path.indexOf('#');
  if (hash >= 0) path = path.slice(0, hash);
  if (path.startsWith('?')) path = '/' + path;
  if (path === '') path = '/';
  const hp = splitHostPort(authority, 80);
  if (!hp) return 'malformed URL authority';
  return { ...hp, path };
}

/** rewriteRequestHead turns an absolute-form request into origin-form for the origin server. */
export function rewriteRequestHead(req: RequestHead, t: AbsoluteTarget): Buffer {
  const listed = connectionTokens(req.headers);
  const lines = [`${req.method} ${t.path} HTTP/1.1`, `Host: ${formatHostPort(t.host, t.port, 80)}`];
  let via = '';
  for (const [n, v] of req.headers) {
    const lower = n.toLowerCase();
    if (HOP_BY_HOP.has(lower) || listed.has(lower) || lower === 'host') continue;
    if (lower === 'via') {
      via = via ? `${via}, ${v}` : v;
      continue;
    }
    lines.push(`${n}: ${v}`);
  }
  const ours = `${req.version.slice(5)} warren`;
  lines.push(`Via: ${via ? `${via}, ${ours}` : ours}`, 'Connection: close', '', '');
  return Buffer.from(lines.join('\r\n'), 'latin1');
}

/**
 * rewriteResponseHead checks an origin's response head and returns what to send the client:
 * an interim (1xx) head unchanged, a final head with its hop-by-hop fields replaced by
 * `Connection: close`. It returns a reason when the head is malformed.
 */
export function rewriteResponseHead(head: Buffer): { out: Buffer; final: boolean } | string {
  const r = parseResponseHead(head);
  if (typeof r === 'string') return r;
  // 101 is final: it ends HTTP on the connection (the proxy never asks for an upgrade anyway).
  if (r.status < 200 && r.status !== 101) return { out: head, final: false };
  const listed = connectionTokens(r.headers);
  const lines = [r.statusLine];
  for (const [n, v] of r.headers) {
    const lower = n.toLowerCase();
    if (lower === 'connection' || lower === 'keep-alive' || lower === 'proxy-connection' || listed.has(lower)) continue;
    lines.push(`${n}: ${v}`);
  }
  lines.push('Connection: close', '', '');
  return { out: Buffer.from(lines.join('\r\n'), 'latin1'), final: true };
}

/** ForwardOptions are what forwardHttp needs besides the two sockets. */
export interface ForwardOptions {
  /** head is the rewritten request head (rewriteRequestHead). */
  head: Buffer;
  /** rest is what the client sent after its request head. */
  rest: Buffer;
  framing: BodyFraming;
  idleMs: number;
  /** fail answers the client with an error status and closes; used only before any response byte. */
  fail(status: number, reason: string): void;
}

/** forwardHttp sends one request upstream and relays its response; both sockets are flowing after. */
export function forwardHttp(client: Socket, upstream: Socket, o: ForwardOptions): void {
  const kill = (): void => {
    client.destroy();
    upstream.destroy();
  };
  for (const s of [client, upstream]) {
    s.removeAllListeners('timeout');
    s.setTimeout(o.idleMs, kill);
    s.on('error', kill);
  }
  client.once('close', () => upstream.destroy());
  upstream.once('close', () => closeAfterFlush(client));
  sendRequest(client, upstream, o, kill);
  relayResponse(client, upstream, o);
  client.resume();
  upstream.resume();
}

// sendRequest writes the head, then exactly the body; later bytes are read (so that closing
// the client's socket sends a FIN, not a reset that could cut the response) and dropped.
function sendRequest(client: Socket, upstream: Socket, o: ForwardOptions, kill: () => void): void {
  const body = bodyTracker(o.framing);
  upstream.write(o.head);
  const onClientData = (chunk: Buffer): void => {
    if (body.done || upstream.destroyed) return;
    const n = body.feed(chunk);
    if (typeof n === 'string') {
      // Half the request is already upstream: there is no clean answer left, only a close.
      kill();
      return;
    }
    if (n > 0 && !upstream.write(n === chunk.length ? chunk : chunk.subarray(0, n))) {
      client.pause();
      upstream.once('drain', () => client.resume());
    }
  };
  client.on('data', onClientData);
  // A client that stops before its body is complete: let the origin see the end too.
  client.once('end', () => {
    if (!body.done) upstream.end();
  });
  if (o.rest.length > 0) onClientData(o.rest);
}

// relayResponse passes response heads through the rewrite (any interim ones, then the final
// one), then the rest raw. A bad response before any byte reached the client is answered
// with o.fail(502); after that, only a close is left.
function relayResponse(client: Socket, upstream: Socket, o: ForwardOptions): void {
  let answered = false;
  const badUpstream = (reason: string): void => {
    upstream.destroy();
    if (answered) client.destroy();
    else o.fail(502, reason);
  };
  const heads = { collector: new HeadCollector(MAX_RESPONSE_HEAD), used: 0 };
  const onUpstreamData = (chunk: Buffer): void => {
    let piece: Buffer = chunk;
    while (piece.length > 0) {
      const got = heads.collector.push(piece);
      if (got === null) return;
      if (got === 'too-large' || heads.used + got.head.length > MAX_RESPONSE_HEAD) {
        badUpstream('response head from upstream too large');
        return;
      }
      heads.used += got.head.length;
      const r = rewriteResponseHead(got.head);
      if (typeof r === 'string') {
        badUpstream(`malformed response from upstream: ${r}`);
        return;
      }
      answered = true;
      client.write(r.out);
      piece = got.rest;
      if (r.final) {
        upstream.removeListener('data', onUpstreamData);
        upstream.removeListener('end', onUpstreamEarlyEnd);
        if (piece.length > 0) client.write(piece);
        relay(upstream, client);
        // The origin closes after its response: finish our side of that connection too.
        upstream.once('end', () => upstream.end());
        return;
      }
      heads.collector = new HeadCollector(MAX_RESPONSE_HEAD - heads.used);
    }
  };
  const onUpstreamEarlyEnd = (): void => badUpstream('upstream closed before a complete response');
  upstream.on('data', onUpstreamData);
  upstream.once('end', onUpstreamEarlyEnd);
}
