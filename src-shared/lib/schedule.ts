// Schedule trust requirements (src-shared/wire/policy.ts: days, from/to, time zone).
// A window is [from, to) in the zone's local time on each listed day; from > to is an overnight
// window that starts on a listed day and ends on the next morning (Fri 22:00-06:00 covers Friday
// night into Saturday). Wall time comes from Intl, so daylight-saving changes follow the zone's
// rules: a window boundary that falls in a skipped hour takes effect when the clock jumps past it.
import { DAYS, type ScheduleRequirement } from '../wire/policy.js';

const MINUTE = 60_000;
const DAY_MINUTES = 24 * 60;
/** SCHEDULE_HORIZON_MS is how far ahead nextScheduleChange looks: a week plus margin for DST. */
export const SCHEDULE_HORIZON_MS = 8 * 24 * 60 * MINUTE;
// The longest jump between two checks: short enough that a DST shift cannot hide two flips.
const MAX_STEP_MINUTES = 180;

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAY: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };

/** parseClock reads "HH:MM" as minutes after midnight; "24:00" only when isEnd. Null if bad. */
export function parseClock(s: string, isEnd: boolean): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(s);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59) return null;
  if (h === 24 && min === 0 && isEnd) return DAY_MINUTES;
  return h <= 23 ? h * 60 + min : null;
}

/** validTimeZone tells whether Intl knows the IANA zone name. */
export function validTimeZone(tz: string): boolean {
  try {
    formatter(tz);
    return true;
  } catch {
    return false;
  }
}

function formatter(tz: string): Intl.DateTimeFormat {
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    if (formatters.size < 1000) formatters.set(tz, f);
  }
  return f;
}

/** LocalTime is a wall-clock position in the week: day 0 is Monday, minute 0..1439. */
export interface LocalTime {
  day: number;
  minute: number;
}

/** localTime is the wall clock of zone tz at instant t (epoch ms), to the minute. */
export function localTime(tz: string, t: number): LocalTime {
  let day = 0;
  let hour = 0;
  let minute = 0;
  for (const p of formatter(tz).formatToParts(t)) {
    if (p.type === 'weekday') day = WEEKDAY[p.value] ?? 0;
    else if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

/** scheduleActiveAt tells whether the window is open at a local wall time. */
export function scheduleActiveAt(req: ScheduleRequirement, lt: LocalTime): boolean {
  const from = parseClock(req.from, false) ?? 0;
  const to = parseClock(req.to, true) ?? 0;
  const onDay = (d: number): boolean => req.days.includes(DAYS[((d % 7) + 7) % 7]!);
  if (from < to) return onDay(lt.day) && lt.minute >= from && lt.minute < to;
  // Overnight: the evening part belongs to today, the morning part to yesterday's window.
  return (onDay(lt.day) && lt.minute >= from) || (onDay(lt.day - 1) && lt.minute < to);
}

/** scheduleActive tells whether the window is open at instant now (epoch ms). */
export function scheduleActive(req: ScheduleRequirement, now: number): boolean {
  return scheduleActiveAt(req, localTime(req.timeZone, now));
}

/** nextScheduleChange is the first whole-minute instant after now at which scheduleActive
 * flips, or null if it does not flip within SCHEDULE_HORIZON_MS. It jumps from one candidate
 * boundary (from, to, midnight) to the next in local time, at most MAX_STEP_MINUTES at a time,
 * and narrows down to the exact minute by bisection when a jump crosses a flip, which also
 * finds flips caused by daylight-saving jumps. */
export function nextScheduleChange(req: ScheduleRequirement, now: number): number | null {
  const from = parseClock(req.from, false) ?? 0;
  const to = parseClock(req.to, true) ?? 0;
  const bounds = [from, to % DAY_MINUTES, 0];
  const state = scheduleActive(req, now);
  let t = Math.floor(now / MINUTE) * MINUTE;
  const end = now + SCHEDULE_HORIZON_MS;
  while (t < end) {
    const m = localTime(req.timeZone, t).minute;
    let step = MAX_STEP_MINUTES;
    for (const b of bounds) {
      const d = (b - m + DAY_MINUTES) % DAY_MINUTES || DAY_MINUTES;
      if (d < step) step = d;
    }
    const next = t + step * MINUTE;
    if (scheduleActive(req, next) !== state) return bisect(req, state, t, next);
    t = next;
  }
  return null;
}

// bisect finds the first minute in (lo, hi] where the state differs, given it differs at hi.
function bisect(req: ScheduleRequirement, state: boolean, lo: number, hi: number): number {
  while (hi - lo > MINUTE) {
    const mid = lo + Math.floor((hi - lo) / MINUTE / 2) * MINUTE;
    if (scheduleActive(req, mid) !== state) hi = mid;
    else lo = mid;
  }
  return hi;
}
