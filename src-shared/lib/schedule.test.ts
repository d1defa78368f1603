import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Day, ScheduleRequirement } from '../wire/policy.js';
import { localTime, nextScheduleChange, parseClock, scheduleActive } from './schedule.js';

function sched(days: Day[], from: string, to: string, timeZone: string): ScheduleRequirement {
  return { type: 'schedule', days, from, to, timeZone };
}
const WEEKDAYS: Day[] = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri'];
const EVERY: Day[] = [...WEEKDAYS, 'Sat', 'Sun'];
const at = (iso: string): number => Date.parse(iso);

// 2024-01-15 is a Monday; London is on UTC in January, New York on UTC-5, Tokyo on UTC+9.
const activeCases: { name: string; req: ScheduleRequirement; at: string; active: boolean }[] = [
  {
    name: 'inside office hours',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    at: '2024-01-15T10:00:00Z',
    active: true,
  },
  {
    name: 'a minute before',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    at: '2024-01-15T08:59:59Z',
    active: false,
  },
  {
    name: 'from is inclusive',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    at: '2024-01-15T09:00:00Z',
    active: true,
  },
  {
    name: 'to is exclusive',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    at: '2024-01-15T17:00:00Z',
    active: false,
  },
  {
    name: 'Saturday',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    at: '2024-01-20T10:00:00Z',
    active: false,
  },
  {
    name: 'New York 9:00 Monday',
    req: sched(['Mon'], '09:00', '10:00', 'America/New_York'),
    at: '2024-01-15T14:00:00Z',
    active: true,
  },
  {
    name: 'same instant in Tokyo is 23:00',
    req: sched(['Mon'], '09:00', '10:00', 'Asia/Tokyo'),
    at: '2024-01-15T14:00:00Z',
    active: false,
  },
  {
    name: 'Tokyo Tuesday while UTC is Monday',
    req: sched(['Tue'], '08:00', '09:00', 'Asia/Tokyo'),
    at: '2024-01-15T23:30:00Z',
    active: true,
  },
  {
    name: 'overnight, evening part',
    req: sched(['Fri'], '22:00', '06:00', 'UTC'),
    at: '2024-01-19T23:00:00Z',
    active: true,
  },
  {
    name: 'overnight, next morning',
    req: sched(['Fri'], '22:00', '06:00', 'UTC'),
    at: '2024-01-20T05:59:00Z',
    active: true,
  },
  {
    name: 'overnight, ends at to',
    req: sched(['Fri'], '22:00', '06:00', 'UTC'),
    at: '2024-01-20T06:00:00Z',
    active: false,
  },
  {
    name: 'overnight, Saturday evening not listed',
    req: sched(['Fri'], '22:00', '06:00', 'UTC'),
    at: '2024-01-20T23:00:00Z',
    active: false,
  },
  {
    name: 'overnight, Friday morning belongs to Thursday',
    req: sched(['Fri'], '22:00', '06:00', 'UTC'),
    at: '2024-01-19T03:00:00Z',
    active: false,
  },
  {
    name: 'overnight Sunday into Monday',
    req: sched(['Sun'], '22:00', '06:00', 'UTC'),
    at: '2024-01-15T01:00:00Z',
    active: true,
  },
  { name: 'until 24:00', req: sched(['Mon'], '22:00', '24:00', 'UTC'), at: '2024-01-15T23:59:00Z', active: true },
  {
    name: '24:00 ends at midnight',
    req: sched(['Mon'], '22:00', '24:00', 'UTC'),
    at: '2024-01-16T00:00:00Z',
    active: false,
  },
  {
    name: 'London summer time',
    req: sched(EVERY, '09:00', '17:00', 'Europe/London'),
    at: '2024-07-01T08:30:00Z',
    active: true,
  },
];

for (const c of activeCases) {
  test(`schedule: ${c.name}`, () => assert.equal(scheduleActive(c.req, at(c.at)), c.active));
}

const changeCases: { name: string; req: ScheduleRequirement; now: string; next: string | null }[] = [
  {
    name: 'end of the working day',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    now: '2024-01-15T10:00:30Z',
    next: '2024-01-15T17:00:00Z',
  },
  {
    name: 'over the weekend',
    req: sched(WEEKDAYS, '09:00', '17:00', 'Europe/London'),
    now: '2024-01-19T18:00:00Z',
    next: '2024-01-22T09:00:00Z',
  },
  {
    name: 'odd minute',
    req: sched(['Wed'], '13:07', '13:08', 'UTC'),
    now: '2024-01-15T00:00:00Z',
    next: '2024-01-17T13:07:00Z',
  },
  {
    name: 'one-minute window closes',
    req: sched(['Wed'], '13:07', '13:08', 'UTC'),
    now: '2024-01-17T13:07:10Z',
    next: '2024-01-17T13:08:00Z',
  },
  {
    name: 'across spring-forward in London',
    req: sched(EVERY, '09:00', '17:00', 'Europe/London'),
    now: '2024-03-30T18:00:00Z',
    next: '2024-03-31T08:00:00Z',
  },
  {
    name: 'boundary in the skipped hour (New York)',
    req: sched(['Sun'], '02:30', '04:00', 'America/New_York'),
    now: '2024-03-10T06:00:00Z',
    next: '2024-03-10T07:00:00Z',
  },
  {
    name: 'Tokyo',
    req: sched(['Tue'], '08:00', '09:00', 'Asia/Tokyo'),
    now: '2024-01-15T12:00:00Z',
    next: '2024-01-15T23:00:00Z',
  },
  {
    name: 'overnight end',
    req: sched(['Fri'], '22:00', '06:00', 'UTC'),
    now: '2024-01-19T23:00:00Z',
    next: '2024-01-20T06:00:00Z',
  },
  {
    name: 'always on never changes',
    req: sched(EVERY, '00:00', '24:00', 'UTC'),
    now: '2024-01-19T23:00:00Z',
    next: null,
  },
];

for (const c of changeCases) {
  test(`next change: ${c.name}`, () => {
    const got = nextScheduleChange(c.req, at(c.now));
    assert.equal(
      got === null ? null : new Date(got).toISOString(),
      c.next === null ? null : new Date(c.next).toISOString(),
    );
    if (got !== null) {
      assert.notEqual(scheduleActive(c.req, got), scheduleActive(c.req, at(c.now)), 'state flips at the change');
      assert.equal(scheduleActive(c.req, got - 1), scheduleActive(c.req, at(c.now)), 'and not a moment before');
    }
  });
}

test('clock parsing and local time', () => {
  assert.equal(parseClock('9:05', false), 545);
  assert.equal(parseClock('24:00', true), 1440);
  assert.equal(parseClock('24:00', false), null);
  assert.equal(parseClock('12:60', false), null);
  assert.deepEqual(localTime('Asia/Tokyo', at('2024-01-15T14:00:00Z')), { day: 0, minute: 23 * 60 });
  assert.deepEqual(localTime('America/New_York', at('2024-01-15T04:00:00Z')), { day: 6, minute: 23 * 60 });
});
