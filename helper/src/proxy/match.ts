// The egress proxy's destination matcher: profile `Egress.Allow` and `Egress.Deny`
// entries are hostname patterns, IP literals or CIDRs. Deny wins over allow and anything not
// allowed is refused, so a bug here fails closed. Hostnames and addresses live in separate
// worlds: a name never matches a CIDR and an address never matches a name pattern, because
// what a name resolves to is checked separately (decideAddress) after resolution.

import { isIP } from 'node:net';

/** EgressRules are the profile's lists, in profile order (indexes appear in messages). */
export interface EgressRules {
  allow: string[];
  deny: string[];
}

/** Decision is a verdict with a human-readable reason (sent in the 403 body and logged). */
export interface Decision {
  allowed: boolean;
  reason: string;
}

/** Matcher decides hosts (names or literals) and resolved addresses. */
export interface Matcher {
  /** decide judges a host as a client named it: a hostname or an IP literal (brackets allowed). */
  decide(host: string): Decision;
  /**
   * decideAddress judges an address a permitted name resolved to: only Deny's IPs and CIDRs
   * can refuse it, since Allow names a host, not the addresses it happens to use.
   */
  decideAddress(ip: string): Decision;
}

/** MAX_RULES bounds each list; a profile is local but still parsed defensively. */
export const MAX_RULES = 4096;

const MAX_NAME = 253;
const LABEL = /^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$/;
// A last label like `1` or `0x7f` lets a resolver read the whole name as an address
// (inet_aton accepts `127.1`, `0x7f000001`): such names are not names, so refuse them.
const NUMERIC_LABEL = /^(?:0x[0-9a-f]*|[0-9]+)$/;

type Entry =
  | { kind: 'name'; text: string; labels: string[] }
  | { kind: 'ip'; text: string; bytes: Uint8Array }
  | { kind: 'cidr'; text: string; bytes: Uint8Array; prefix: number };

type Host = { kind: 'name'; labels: string[] } | { kind: 'ip'; bytes: Uint8Array };

/** RulesError carries every bad entry, each prefixed with its place (`Egress.Allow[2]: ...`). */
export class RulesError extends Error {
  constructor(readonly problems: string[]) {
    super(problems.join('; '));
    this.name = 'RulesError';
  }
}

/** checkRules lists the problems in rules without throwing (for config validation). */
export function checkRules(rules: EgressRules): string[] {
  return compileLists(rules).problems;
}

/** compileRules builds a Matcher, or throws RulesError naming every bad entry. */
export function compileRules(rules: EgressRules): Matcher {
  const { allow, deny, problems } = compileLists(rules);
  if (problems.length > 0) throw new RulesError(problems);
  return {
    decide(host) {
      const h = parseHost(host);
      if (h === null) return { allowed: false, reason: 'invalid host' };
      const d = deny.find((e) => entryMatches(e.entry, h));
      if (d) return { allowed: false, reason: `denied by Egress.Deny[${d.index}] (${d.entry.text})` };
      const a = allow.find((e) => entryMatches(e.entry, h));
      if (a) return { allowed: true, reason: `allowed by Egress.Allow[${a.index}] (${a.entry.text})` };
      return { allowed: false, reason: 'not in Egress.Allow' };
    },
    decideAddress(ip) {
      const h = parseHost(ip);
      if (h === null || h.kind !== 'ip') return { allowed: false, reason: 'invalid address' };
      const d = deny.find((e) => entryMatches(e.entry, h));
      if (d) return { allowed: false, reason: `address denied by Egress.Deny[${d.index}] (${d.entry.text})` };
      return { allowed: true, reason: 'address not denied' };
    },
  };
}

interface Indexed {
  index: number;
  entry: Entry;
}

function compileLists(rules: EgressRules): { allow: Indexed[]; deny: Indexed[]; problems: string[] } {
  const problems: string[] = [];
  const one = (list: unknown, name: string): Indexed[] => {
    if (!Array.isArray(list)) {
      problems.push(`Egress.${name}: must be a list of strings`);
      return [];
    }
    if (list.length > MAX_RULES) {
      problems.push(`Egress.${name}: at most ${MAX_RULES} entries`);
      return [];
    }
    const out: Indexed[] = [];
    list.forEach((raw: unknown, index) => {
      const r = typeof raw === 'string' ? parseEntry(raw) : 'must be a string';
      if (typeof r === 'string') problems.push(`Egress.${name}[${index}]: ${r}`);
      else out.push({ index, entry: r });
    });
    return out;
  };
  return { allow: one(rules.allow, 'Allow'), deny: one(rules.deny, 'Deny'), problems };
}

function parseEntry(raw: string): Entry | string {
  const text = raw.trim().toLowerCase();
  if (text === '') return 'empty entry';
  if (text.length > MAX_NAME + 2) return 'too long';
  const slash = text.indexOf('/');
  if (slash >= 0) {
    const addr = stripBrackets(text.slice(0, slash));
    const prefixText = text.slice(slash + 1);
    const bytes = addr.includes('%') ? null : ipBytes(addr);
    if (bytes === null) return `"${raw}" is not a CIDR: bad address`;
    if (!/^[0-9]{1,3}$/.test(prefixText)) return `"${raw}" is not a CIDR: bad prefix length`;
    const prefix = Number(prefixText);
    if (prefix > bytes.length * 8) return `"${raw}" is not a CIDR: prefix longer than ${bytes.length * 8}`;
    return { kind: 'cidr', text, bytes: maskTo(bytes, prefix), prefix };
  }
  const name = text.endsWith('.') ? text.slice(0, -1) : text;
  const unbracketed = stripBrackets(text);
  if (unbracketed.includes(':') || isIP(name) !== 0) {
    const literal = unbracketed.includes(':') ? unbracketed : name;
    const bytes = literal.includes('%') ? null : ipBytes(literal);
    if (bytes === null) return `"${raw}" is not a valid IP address`;
    return { kind: 'ip', text, bytes };
  }
  if (name.length > MAX_NAME) return 'name longer than 253 characters';
  const labels = name.split('.');
  for (const l of labels) {
    if (l === '*' || l === '**') continue;
    if (l.includes('*')) return `"${raw}": a wildcard must be a whole label (* or **)`;
    if (!LABEL.test(l)) return `"${raw}" is not a hostname, IP or CIDR`;
  }
  const last = labels[labels.length - 1] ?? '';
  if (NUMERIC_LABEL.test(last)) return `"${raw}" looks like a malformed IP address`;
  return { kind: 'name', text, labels };
}

/** parseHost normalises a client's host; null when it is neither a valid name nor an IP. */
function parseHost(raw: string): Host | null {
  if (raw.length > MAX_NAME + 2) return null;
  let text = raw.toLowerCase();
  if (text.startsWith('[') || text.includes(':')) {
    text = stripBrackets(text);
    if (text.includes('%')) return null;
    const bytes = ipBytes(text);
    return bytes === null ? null : { kind: 'ip', bytes };
  }
  if (text.endsWith('.')) text = text.slice(0, -1);
  if (isIP(text) === 4) {
    const bytes = ipBytes(text);
    return bytes === null ? null : { kind: 'ip', bytes };
  }
  if (text.length === 0 || text.length > MAX_NAME) return null;
  const labels = text.split('.');
  if (!labels.every((l) => LABEL.test(l))) return null;
  if (NUMERIC_LABEL.test(labels[labels.length - 1] ?? '')) return null;
  return { kind: 'name', labels };
}

function stripBrackets(s: string): string {
  return s.startsWith('[') && s.endsWith(']') ? s.slice(1, -1) : s;
}

function entryMatches(e: Entry, h: Host): boolean {
  if (e.kind === 'name') return h.kind === 'name' && labelsMatch(e.labels, h.labels);
  if (h.kind !== 'ip' || h.bytes.length !== e.bytes.length) return false;
  if (e.kind === 'ip') return bytesEqual(e.bytes, h.bytes);
  return bytesEqual(e.bytes, maskTo(h.bytes, e.prefix));
}

/**
 * labelsMatch matches `*` to exactly one label and `**` to one or more. Memoised over
 * (pattern index, name index) so a pattern full of `**` stays linear-ish, not exponential.
 */
export function labelsMatch(pattern: string[], name: string[]): boolean {
  const failed = new Set<number>();
  const go = (p: number, n: number): boolean => {
    if (p === pattern.length) return n === name.length;
    if (n === name.length) return false;
    const key = p * (name.length + 1) + n;
    if (failed.has(key)) return false;
    const tok = pattern[p];
    let ok: boolean;
    if (tok === '**') {
      ok = false;
      for (let k = n + 1; k <= name.length && !ok; k++) ok = go(p + 1, k);
    } else {
      ok = (tok === '*' || tok === name[n]) && go(p + 1, n + 1);
    }
    if (!ok) failed.add(key);
    return ok;
  };
  return go(0, 0);
}

/**
 * ipBytes parses an IPv4 or IPv6 literal into 4 or 16 bytes; an IPv4-mapped IPv6 address
 * (::ffff:a.b.c.d) becomes its IPv4 form so that `::ffff:10.0.0.1` cannot dodge `10.0.0.0/8`.
 */
export function ipBytes(text: string): Uint8Array | null {
  const family = isIP(text);
  if (family === 4) return new Uint8Array(text.split('.').map(Number));
  if (family !== 6 || text.includes('%')) return null;
  let tail: number[] = [];
  let body = text;
  const lastColon = body.lastIndexOf(':');
  if (body.slice(lastColon + 1).includes('.')) {
    tail = body
      .slice(lastColon + 1)
      .split('.')
      .map(Number);
    const hi = ((tail[0] ?? 0) << 8) | (tail[1] ?? 0);
    const lo = ((tail[2] ?? 0) << 8) | (tail[3] ?? 0);
    body = `${body.slice(0, lastColon + 1)}${hi.toString(16)}:${lo.toString(16)}`;
  }
  const halves = body.split('::');
  const head = halves[0] ? halves[0].split(':') : [];
  const rest = halves.length > 1 && halves[1] ? halves[1].split(':') : [];
  const zeros = halves.length > 1 ? 8 - head.length - rest.length : 0;
  const groups = [...head, ...Array<string>(zeros).fill('0'), ...rest];
  if (groups.length !== 8) return null;
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    const v = parseInt(g, 16);
    out[i * 2] = v >> 8;
    out[i * 2 + 1] = v & 0xff;
  });
  const mapped = out.slice(0, 10).every((b) => b === 0) && out[10] === 0xff && out[11] === 0xff;
  return mapped ? out.slice(12) : out;
}

function maskTo(bytes: Uint8Array, prefix: number): Uint8Array {
  const out = new Uint8Array(bytes.length);
  for (let i = 0; i < bytes.length; i++) {
    const bits = Math.max(0, Math.min(8, prefix - i * 8));
    out[i] = (bytes[i] ?? 0) & ((0xff << (8 - bits)) & 0xff);
  }
  return out;
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}
