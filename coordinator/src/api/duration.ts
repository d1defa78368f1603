// Durations as people write them on the command line: "90s", "10m", "2h", "7d".

const UNITS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** MAX_DURATION_MS keeps every duration far inside the range of a safe integer of ms. */
export const MAX_DURATION_MS = 10 * 365 * 86_400_000;

/** parseDuration reads "N" followed by s, m, h or d into milliseconds, or returns a problem. */
export function parseDuration(text: string): number | { problem: string } {
  const m = /^([0-9]{1,9})([smhd])$/.exec(text.trim());
  if (!m) return { problem: `${JSON.stringify(text.slice(0, 40))} is not a duration like 90s, 10m, 2h or 7d` };
  const ms = Number(m[1]) * UNITS[m[2]!]!;
  if (ms <= 0) return { problem: 'a duration must be longer than zero' };
  if (ms > MAX_DURATION_MS) return { problem: 'a duration may be at most ten years' };
  return ms;
}

/** formatDuration writes milliseconds in the largest unit that divides them evenly. */
export function formatDuration(ms: number): string {
  for (const u of ['d', 'h', 'm', 's']) {
    const size = UNITS[u]!;
    if (ms >= size && ms % size === 0) return `${ms / size}${u}`;
  }
  return `${ms}ms`;
}
