// Domain-name text rules for Warren's zone (RFC 1035 §2.3.1 and §2.3.4): labels of 1-63
// characters from [a-z0-9-] after lowercasing, names of at most 253 characters without the
// trailing dot. Names come from profiles and, later, the coordinator, so they are untrusted.

/** MAX_LABEL and MAX_NAME are the RFC 1035 §2.3.4 limits in text form. */
export const MAX_LABEL = 63;
export const MAX_NAME = 253;

const LABEL = /^[a-z0-9-]{1,63}$/;

/** isLabel says whether s (already lowercase) is one valid label. */
export function isLabel(s: string): boolean {
  return LABEL.test(s);
}

/**
 * normaliseName lowercases a name and drops one trailing dot; it returns null if the result
 * is empty, longer than MAX_NAME or has a label that is not [a-z0-9-]{1,63}.
 */
export function normaliseName(raw: string): string | null {
  if (typeof raw !== 'string' || raw.length > MAX_NAME + 1) return null;
  let s = raw.toLowerCase();
  if (s.endsWith('.')) s = s.slice(0, -1);
  if (s.length === 0 || s.length > MAX_NAME) return null;
  for (const label of s.split('.')) if (!isLabel(label)) return null;
  return s;
}

/** isWithin says whether name (normalised) is origin itself or below it. */
export function isWithin(name: string, origin: string): boolean {
  return name === origin || name.endsWith('.' + origin);
}

/** parentsBelow lists the ancestors of name strictly below origin, nearest first. */
export function parentsBelow(name: string, origin: string): string[] {
  const out: string[] = [];
  let n = name;
  for (;;) {
    const dot = n.indexOf('.');
    if (dot < 0) break;
    n = n.slice(dot + 1);
    if (n === origin || !isWithin(n, origin)) break;
    out.push(n);
  }
  return out;
}
