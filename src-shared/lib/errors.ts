// Profile errors: every message names the file, the key path and what is wrong, in the form
// `profile FILE: KEY: problem`, so that a person can go straight to the line to fix.

/** ProfileIssue is one problem; key is a path like Peers[1].AllowedIPs[0], or null for the file. */
export interface ProfileIssue {
  key: string | null;
  problem: string;
}

/** MAX_REPORTED_ISSUES keeps a badly broken file from flooding the terminal. */
export const MAX_REPORTED_ISSUES = 20;

/** ProfileError is a profile that cannot be used; message has one line per issue. */
export class ProfileError extends Error {
  override name = 'ProfileError';
  constructor(
    readonly file: string,
    readonly issues: ProfileIssue[],
  ) {
    super(formatIssues(file, issues));
  }
}

function formatIssues(file: string, issues: ProfileIssue[]): string {
  const lines = issues
    .slice(0, MAX_REPORTED_ISSUES)
    .map((i) => (i.key === null ? `profile ${file}: ${i.problem}` : `profile ${file}: ${i.key}: ${i.problem}`));
  if (issues.length > MAX_REPORTED_ISSUES) {
    lines.push(`profile ${file}: and ${issues.length - MAX_REPORTED_ISSUES} more problems`);
  }
  return lines.join('\n');
}

/** Issues collects problems while a profile is checked, so that all of them are reported at once. */
export class Issues {
  readonly list: ProfileIssue[] = [];
  add(key: string | null, problem: string): void {
    this.list.push({ key, problem });
  }
  get count(): number {
    return this.list.length;
  }
}

/** childPath appends an object key to a key path, quoting keys that are not plain words. */
export function childPath(parent: string, key: string): string {
  const part = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? key : `[${quote(key)}]`;
  if (parent === '') return part;
  return part.startsWith('[') ? `${parent}${part}` : `${parent}.${part}`;
}

/** indexPath appends an array index to a key path. */
export function indexPath(parent: string, i: number): string {
  return `${parent}[${i}]`;
}

/** quote renders a value from the file for a message: JSON-quoted (so control characters are
 * escaped) and cut short, since the file may be hostile or simply huge. */
export function quote(v: unknown, max = 60): string {
  const s = typeof v === 'string' ? v : String(v);
  const cut = s.length > max ? `${s.slice(0, max)}…` : s;
  return JSON.stringify(cut);
}

/** typeName says what kind of JSON value v is, for "must be X, not Y" messages. */
export function typeName(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  switch (typeof v) {
    case 'string':
      return 'a string';
    case 'number':
      return 'a number';
    case 'boolean':
      return `${v}`;
    case 'object':
      return 'an object';
    default:
      return typeof v;
  }
}

/** isObject tells whether v is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** didYouMean returns ` (did you mean "X"?)` for the closest known key, or ''. */
export function didYouMean(key: string, known: readonly string[]): string {
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const k of known) {
    const d = k.toLowerCase() === key.toLowerCase() ? 0 : editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) {
      best = k;
      bestDistance = d;
    }
  }
  const allowed = Math.max(1, Math.min(3, Math.floor(key.length / 3)));
  return best !== null && bestDistance <= allowed ? ` (did you mean ${quote(best)}?)` : '';
}

/** editDistance is the Damerau-Levenshtein distance (with adjacent swaps), bounded input. */
export function editDistance(a: string, b: string): number {
  if (a.length > 64 || b.length > 64) return Infinity;
  const d: number[][] = [];
  for (let i = 0; i <= a.length; i++) {
    d.push([i]);
  }
  for (let j = 1; j <= b.length; j++) d[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, d[i - 2]![j - 2]! + 1);
      d[i]![j] = v;
    }
  }
  return d[a.length]![b.length]!;
}
