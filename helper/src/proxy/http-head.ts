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

/** MAX_HEADER_FIELDS bounds how many fields one request head may carry. */
export const MAX_HEADER_FIELDS = 100;
/** MAX_RESPONSE_FIELDS is the same for an origin's response, which may carry many Set-Cookie. */
export const MAX_RESPONSE_FIELDS = 256;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
// Field values: visible ASCII, obs-text, space and tab; nothing that could split a line.
// eslint-disable-next-line no-control-regex
const BAD_VALUE = /[\u0000-\u0008\u000a-\u001f\u007f]/;
// eslint-disable-next-line no-control-regex
const BAD_TARGET = /[\u0000-\u0020\u007f-\uffff]/;

/** parseRequestHead parses the head (without its final blank line) or returns a reason. */
export function parseRequestHead(head: Buffer): RequestHead | string {
  const lines = headLines(head);
  const requestLine = lines.shift() ?? '';
  const parts = requestLine.split(' ');
  if (parts.length !== 3) return 'malformed request line';
  const [method = '', target = '', version = ''] = parts;
  if (!TOKEN.test(method)) return 'malformed method';
  if (target === '' || BAD_TARGET.test(target)) return 'malformed request target';
  if (version !== 'HTTP/1.1' && version !== 'HTTP/1.0') return 'unsupported HTTP version';
  const headers = parseFields(lines, MAX_HEADER_FIELDS);
  if (typeof headers === 'string') return headers;
  return { method, target, version, headers };
}

/** ResponseHead is a parsed status line and header fields, in order, names as sent. */
export interface ResponseHead {
  version: 'HTTP/1.0' | 'HTTP/1.1';
  status: number;
  /** statusLine is the first line as received, to be passed on unchanged. */
  statusLine: string;
  headers: [string, string][];
}

/** parseResponseHead parses an origin's response head (RFC 9112 §4) or returns a reason. */
export function parseResponseHead(head: Buffer): ResponseHead | string {
  const lines = headLines(head);
  const statusLine = lines.shift() ?? '';
  const m = /^(HTTP\/1\.[01]) ([1-9][0-9]{2})(?: [\t\x20-\x7e\x80-\xff]*)?$/.exec(statusLine);
  if (!m) return 'malformed status line';
  const headers = parseFields(lines, MAX_RESPONSE_FIELDS);
  if (typeof headers === 'string') return headers;
  return { version: m[1] as ResponseHead['version'], status: Number(m[2]), statusLine, headers };
}

function headLines(head: Buffer): string[] {
  const lines = head.toString('latin1').split('\r\n');
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines;
}

function parseFields(lines: string[], max: number): [string, string][] | string {
  if (lines.length > max) return 'too many header fields';
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
  return headers;
}

/** connectionTokens lists the lower-cased options of every Connection field (RFC 9110 §7.6.1). */
export function connectionTokens(headers: [string, string][]): Set<string> {
  const listed = new Set<string>();
  for (const [n, v] of headers) {
    if (n.toLowerCase() !== 'connection') continue;
    for (const t of v.split(',')) {
      const token = t.trim().toLowerCase();
      if (token !== '') listed.add(token);
    }
  }
  return listed;
}

/**
 * HeadCollector gathers a head that may arrive in many pieces. Each byte is searched once
 * (only the last three bytes of earlier pieces are looked at again) and nothing is copied
 * until the head is complete, so a peer that sends one byte at a time costs linear time.
 */
export class HeadCollector {
  private readonly chunks: Buffer[] = [];
  private length = 0;
  private tail: Buffer = Buffer.alloc(0);

  constructor(readonly maxBytes: number) {}

  /**
   * push adds a piece. It returns the head (up to and including its blank line) and the
   * bytes after it once the head is complete, 'too-large' once maxBytes pass without one,
   * and null while more is needed.
   */
  push(chunk: Buffer): { head: Buffer; rest: Buffer } | 'too-large' | null {
    const room = this.maxBytes - this.length;
    const probe = Buffer.concat([this.tail, chunk.subarray(0, Math.max(0, room))]);
    const at = probe.indexOf('\r\n\r\n', 0, 'latin1');
    if (at >= 0) {
      const cut = at + 4 - this.tail.length;
      const whole = Buffer.concat([...this.chunks, chunk]);
      const end = this.length + cut;
      return { head: whole.subarray(0, end), rest: whole.subarray(end) };
    }
    if (chunk.length >= room) return 'too-large';
    this.chunks.push(chunk);
    this.length += chunk.length;
    this.tail = probe.subarray(Math.max(0, probe.length - 3));
    return null;
  }
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

/** formatHostPort writes host:port, bracketing IPv6 and leaving out a default port. */
export function formatHostPort(host: string, port: number, defaultPort?: number): string {
  const h = host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
  return port === defaultPort ? h : `${h}:${port}`;
}
