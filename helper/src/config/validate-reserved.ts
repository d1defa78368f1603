// The profile's reserved keys (schema.ts RESERVED_KEYS): sections Warren knows the shape of.
// Active ones (Policies, Tags, Dns, ExitNode, Egress, Ingress, Coordinator) are checked by their
// own validate-*.ts and kept raw here for writing back; the others are only shape-checked, with
// every string inside bounded, since the whole profile is untrusted input read as root.
import { childPath, indexPath, isObject, typeName, type Issues } from '../../../src-shared/lib/errors.js';
import { checkMetrics } from './validate-metrics.js';
import { ACTIVE_RESERVED_KEYS, PROFILE_LIMITS, RESERVED_KEYS, type ReservedKey } from './schema.js';

type Obj = Record<string, unknown>;

/** reservedFields returns the reserved sections that have the right shape, raw. */
export function reservedFields(obj: Obj, is: Issues): Partial<Record<ReservedKey, unknown>> {
  const out: Partial<Record<ReservedKey, unknown>> = {};
  for (const [key, shape] of Object.entries(RESERVED_KEYS) as [ReservedKey, 'object' | 'array'][]) {
    if (!Object.hasOwn(obj, key)) continue;
    const v = obj[key];
    const ok = shape === 'array' ? Array.isArray(v) : isObject(v);
    // Active keys are checked by validate-policy.ts; they are kept raw for writing back.
    if (ACTIVE_RESERVED_KEYS.includes(key)) {
      // Metrics is small enough to check here; the others have their own validate-*.ts.
      if (key === 'Metrics') checkMetrics(v, is);
      if (ok) out[key] = v;
      continue;
    }
    if (!ok) {
      is.add(
        key,
        `must be ${shape === 'array' ? 'an array' : 'an object'}, not ${typeName(v)} (leave the key out if unused)`,
      );
      continue;
    }
    if (checkStringLengths(v, key, is)) out[key] = v;
  }
  return out;
}

/** checkStringLengths applies the string bound inside the raw, not yet interpreted, sections. */
function checkStringLengths(v: unknown, path: string, is: Issues): boolean {
  if (typeof v === 'string') {
    if (v.length <= PROFILE_LIMITS.stringChars) return true;
    is.add(path, `is ${v.length} characters long (the limit is ${PROFILE_LIMITS.stringChars})`);
    return false;
  }
  let ok = true;
  if (Array.isArray(v)) v.forEach((x, i) => (ok = checkStringLengths(x, indexPath(path, i), is) && ok));
  else if (isObject(v)) {
    for (const [k, x] of Object.entries(v)) {
      const p = childPath(path, k);
      if (k.length > PROFILE_LIMITS.stringChars) {
        is.add(p, `key is ${k.length} characters long (the limit is ${PROFILE_LIMITS.stringChars})`);
        ok = false;
      } else ok = checkStringLengths(x, p, is) && ok;
    }
  }
  return ok;
}
