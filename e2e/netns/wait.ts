// Small timing helpers shared by the harness and the scenarios.

/** sleep resolves after ms milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** waitUntil polls fn until it returns a non-undefined value or timeoutMs passes; the error
 * names what was awaited and the last error fn threw. */
export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 10_000,
  intervalMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) {
      const why = last instanceof Error ? `: ${last.message}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`);
    }
    await sleep(intervalMs);
  }
}

/** lastLineTime is the time of the last line of a Warren log matching re (its lines start with
 * an ISO time); it throws when there is none. */
export function lastLineTime(log: string, re: RegExp): number {
  const line = log
    .split('\n')
    .filter((l) => re.test(l))
    .at(-1);
  const at = line === undefined ? NaN : Date.parse(line.slice(line.indexOf('20'), line.indexOf('Z') + 1));
  if (!Number.isFinite(at)) throw new Error(`no log line matching ${String(re)}`);
  return at;
}
