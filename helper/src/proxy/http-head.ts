// A bounded HTTP/1.1 request-head parser for the egress proxy (RFC 9112 §3, §5). It sees
// untrusted bytes from any local process, so it accepts a strict subset: no obs-fold, no
// control characters, token method, HTTP/1.0 or 1.1 only. It returns a reason instead of
// throwing so the proxy can answer 400 and close.

/** RequestHead is a parsed request line and header fields, in order, names as sent. */
export interface RequestHead {
  method: string;
  target: string;
  version: 'HTTP/1.0' | 'HTTP/1.1';
  headers: [string, string][];
}

/** MAX_HEADER_FIELDS bounds how many fields one head may carry. */
export const MAX_HEADER_FIELDS = 100;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; nothing that could split a line.
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const BAD_TARGET = /[\u0000-\u0020\u007f-\uffff]/;

/**
 * findHeadEnd returns the offset just past CRLFCRLF, or -1 while the head is incomplete;
 * from skips bytes already searched, so a client sending one byte at a time costs linear time.
 */
export function findHeadEnd(buf: Buffer, from = 0): number {
  const i = buf.indexOf('\r\n\r\n', from, 'latin1');
  return i < 0 ? -1 : i + 4;
}

/** parseRequestHead parses the head (without its final blank line) or returns a reason. */
export function parseRequestHead(head: Buffer): RequestHead | string {
  const lines = head.toString('latin1').split('\r\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  const requestLine = lines.shift() ?? '';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return 'malformed request line';
  const [method = '', target = '', version = ''] = parts;
  if (!TOKEN.test(method)) return 'malformed method';
  if (target === '' || BAD_TARGET.test(target)) return 'malformed request target';
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return 'unsupported HTTP version';
  if (lines.length > MAX_HEADER_FIELDS) return 'too many header fields';
  const headers: [string, string][] = [];
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return 'malformed header field';
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return 'malformed header name';
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, '');
    if (BAD_VALUE.test(value)) return 'malformed header value';
    headers.push([name, value]);
  }
  return { method, target, version, headers };
}

/** splitHostPort parses an authority `host:port` or `[v6]:port`; null when malformed. */
export function splitHostPort(authority: string, defaultPort?: number): { host: string; port: number } | null {
  let host: string;
  let portText: string | undefined;
  if (authority.startsWith('[')) {
    const close = authority.indexOf(']');
    if (close < 0) return null;
    host = authority.slice(1, close);
    const rest = authority.slice(close + 1);
    if (rest !== '' && !rest.startsWith(':')) return null;
    portText = rest === '' ? undefined : rest.slice(1);
  } else {
    const colon = authority.lastIndexOf(':');
    if (colon >= 0 && authority.indexOf(':') !== colon) return null;
    host = colon < 0 ? authority : authority.slice(0, colon);
    portText = colon < 0 ? undefined : authority.slice(colon + 1);
  }
  if (host === '' || host.includes('@')) return null;
  if (portText === undefined) return defaultPort === undefined ? null : { host, port: defaultPort };
  if (!/^[0-9]{1,5}$/.test(portText)) return null;
  const port = Number(portText);
  if (port < 1 || port > 65535) return null;
  return { host, port };
}
