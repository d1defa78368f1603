import { test } from 'node:test';
import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync } from 'node:fs';
import { loopStatsPeriodOf, parseSchedStat, startLoopStats } from './loop-stats.js';

test('WARREN_LOOP_STATS is off unless it is a whole number of seconds 1..3600', () => {
  assert.equal(loopStatsPeriodOf({}), null);
  assert.equal(loopStatsPeriodOf({ WARREN_LOOP_STATS: '5' }), 5);
  assert.equal(loopStatsPeriodOf({ WARREN_LOOP_STATS: '3600' }), 3600);
  for (const bad of ['0', '3601', '-1', '1.5', '1e3', ' 5', 'yes', '', '99999999999'])
    assert.equal(loopStatsPeriodOf({ WARREN_LOOP_STATS: bad }), null, JSON.stringify(bad));
  const lines: string[] = [];
  startLoopStats({}, (l) => lines.push(l))();
  assert.deepEqual(lines, [], 'off writes nothing');
});

test('loop stats report a 30 ms block of the JS thread as loop delay, and the scavenges garbage causes', async () => {
  const lines: string[] = [];
  const stop = startLoopStats({ WARREN_LOOP_STATS: '1' }, (l) => lines.push(l));
  try {
    await sleep(50);
    const until = performance.now() + 30;
    while (performance.now() < until); // hold the thread as a long sweep would
    // 64 MiB of short-lived objects: more than the young generation holds, so V8 scavenges.
    let keep = 0;
    for (let i = 0; i < 1 << 20; i++) keep += new Array(8).fill(i).length;
    assert.equal(keep, 8 << 20);
    for (let i = 0; i < 40 && lines.length === 0; i++) await sleep(50);
  } finally {
    stop();
  }
  assert.ok(lines.length >= 1, 'a report within the period');
  const m = /delay ms p50 [\d.]+ p99 [\d.]+ p99\.9 [\d.]+ max ([\d.]+)/.exec(lines[0]!);
  assert.ok(m, lines[0]);
  assert.ok(Number(m[1]) >= 25, `a 30 ms block shows as max delay >= 25 ms: ${lines[0]}`);
  const gc = /gc (\d+) minor (\d+) major/.exec(lines[0]!);
  assert.ok(gc && Number(gc[1]) >= 1, `the garbage shows as at least one scavenge: ${lines[0]}`);
  if (existsSync('/proc/thread-self/schedstat')) {
    const ran = /JS thread ran ([\d.]+) ms, waited for a core ([\d.]+) ms/.exec(lines[0]!);
    assert.ok(ran && Number(ran[1]) > 0, `the busy thread's time on a core: ${lines[0]}`);
  }
});

test('parseSchedStat takes run and wait time from schedstat, and nothing else', () => {
  assert.deepEqual(parseSchedStat('123456 789 12\n'), { runNs: 123456, waitNs: 789 });
  for (const bad of ['', '1 2', '1 2 3 4', 'a b c', '-1 2 3', '1 2 3\n\n'])
    assert.equal(parseSchedStat(bad), null, JSON.stringify(bad));
});
