// Checks the harnesses share: a guard that catches a parser reading past its input, and the
// shape of a result (the outcome that guides the fuzzer towards new behaviour).
//
// Reading past the end of a Uint8Array in JavaScript does not fault: it yields undefined,
// which arithmetic turns into NaN or 0 and a parser may then accept. The guard is a Proxy
// that records every index at or beyond the length, and every subarray, slice or toString
// whose end goes past it (those clip silently).

/** Guarded is a view of a buffer that records reads past its end. */
export interface Guarded<T extends Uint8Array> {
  view: T;
  /** pastEnd describes the first read past the end, or null if there was none. */
  pastEnd(): string | null;
}

const CLIPPING = new Set(['subarray', 'slice']);

/** guard wraps buf; hand `view` to a parser that indexes it, then ask pastEnd(). */
export function guard<T extends Uint8Array>(buf: T): Guarded<T> {
  let first: string | null = null;
  const note = (what: string): void => {
    first ??= what;
  };
  const view = new Proxy(buf, {
    get(target, prop) {
      if (typeof prop === 'string') {
        const c = prop.charCodeAt(0);
        if (c >= 48 && c <= 57) {
          const i = Number(prop);
          if (Number.isInteger(i) && i >= target.length) note(`index ${i} of a ${target.length}-byte input`);
          return target[i];
        }
        if (c === 45 && prop !== '-0' && Number.isInteger(Number(prop))) note(`index ${prop}`);
      }
      const v: unknown = Reflect.get(target, prop, target);
      if (typeof v !== 'function') return v;
      if (CLIPPING.has(prop as string)) {
        return (start?: number, end?: number) => {
          if ((end ?? 0) > target.length || (start ?? 0) > target.length || (start ?? 0) < 0)
            note(`${String(prop)}(${start}, ${end}) of a ${target.length}-byte input`);
          return (v as (s?: number, e?: number) => unknown).call(target, start, end);
        };
      }
      if (prop === 'toString') {
        return (enc?: BufferEncoding, start?: number, end?: number) => {
          if ((end ?? 0) > target.length) note(`toString(${enc}, ${start}, ${end}) of a ${target.length}-byte input`);
          return (v as (e?: string, s?: number, x?: number) => string).call(target, enc, start, end);
        };
      }
      return (v as (...a: unknown[]) => unknown).bind(target);
    },
  });
  return { view, pastEnd: () => first };
}

/** shape describes a value's structure, not its content: keys, types and array sizes in
 * buckets. Two results of the same shape took, very likely, the same path through a parser. */
export function shape(v: unknown, depth = 0): string {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v) || v instanceof Uint8Array) return `bytes${bucket(v.length)}`;
  if (Array.isArray(v)) {
    if (depth > 3) return `[${bucket(v.length)}]`;
    const kinds = [...new Set(v.slice(0, 8).map((x) => shape(x, depth + 1)))].sort();
    return `[${bucket(v.length)}:${kinds.join('|')}]`;
  }
  if (typeof v === 'object') {
    if (depth > 3) return '{}';
    const o = v as Record<string, unknown>;
    return `{${Object.keys(o)
      .sort()
      .map((k) => `${k}:${shape(o[k], depth + 1)}`)
      .join(',')}}`;
  }
  return typeof v;
}

/** bucket rounds a size to a power of two, so sizes guide without flooding the corpus. */
export function bucket(n: number): number {
  return n <= 2 ? n : 2 ** Math.ceil(Math.log2(n));
}

/** errorOutcome is the outcome of a refusal: its class and message with numbers and quoted
 * parts blanked, so each kind of refusal counts once however the input spells it. */
export function errorOutcome(e: unknown): string {
  const name = e instanceof Error ? e.constructor.name : typeof e;
  const msg = e instanceof Error ? e.message : String(e);
  return `${name}:${msg
    .split('\n')[0]!
    .replace(/"(?:[^"\\]|\\.)*"/g, '"…"')
    .replace(/\d+/g, 'N')
    .slice(0, 160)}`;
}
