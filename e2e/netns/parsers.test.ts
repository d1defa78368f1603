// Unit tests of the harness's parsers (no root needed): ping, iperf3 -J, `wg show dump`,
// /proc, run-id names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseIperf } from './iperf.js';
import { newRunId, pidAlive, runPid } from './names.js';
import { parsePing, percentile } from './ping.js';
import { parseStatTicks, parseVmHwm } from './procstats.js';
import { parseWgDump } from './wireguard-go.js';

const PING_OK = `PING 100.64.0.2 (100.64.0.2) 56(84) bytes of data.
64 bytes from 100.64.0.2: icmp_seq=1 ttl=64 time=1.23 ms
64 bytes from 100.64.0.2: icmp_seq=2 ttl=64 time=0.456 ms
64 bytes from 100.64.0.2: icmp_seq=3 ttl=64 time=0.789 ms

--- 100.64.0.2 ping statistics ---
3 packets transmitted, 3 received, 0% packet loss, time 2003ms
rtt min/avg/max/mdev = 0.456/0.825/1.230/0.316 ms
`;
const PING_PARTIAL = `PING 100.64.0.2 (100.64.0.2) 56(84) bytes of data.
64 bytes from 100.64.0.2: icmp_seq=2 ttl=64 time=0.5 ms

--- 100.64.0.2 ping statistics ---
4 packets transmitted, 1 received, 75% packet loss, time 3050ms
rtt min/avg/max/mdev = 0.500/0.500/0.500/0.000 ms
`;
const PING_NONE = `PING 100.64.0.2 (100.64.0.2) 56(84) bytes of data.

--- 100.64.0.2 ping statistics ---
2 packets transmitted, 0 received, 100% packet loss, time 1010ms
`;

for (const c of [
  {
    name: 'all replies',
    text: PING_OK,
    want: { transmitted: 3, received: 3, lossPct: 0, min: 0.456, avg: 0.825, max: 1.23, rtts: [1.23, 0.456, 0.789] },
  },
  {
    name: 'some lost',
    text: PING_PARTIAL,
    want: { transmitted: 4, received: 1, lossPct: 75, min: 0.5, avg: 0.5, max: 0.5, rtts: [0.5] },
  },
  {
    name: 'nothing back',
    text: PING_NONE,
    want: { transmitted: 2, received: 0, lossPct: 100, min: NaN, avg: NaN, max: NaN, rtts: [] },
  },
  {
    name: 'no output',
    text: '',
    want: { transmitted: 0, received: 0, lossPct: 100, min: NaN, avg: NaN, max: NaN, rtts: [] },
  },
]) {
  test(`parsePing: ${c.name}`, () => {
    assert.deepEqual(parsePing(c.text), c.want);
  });
}

for (const c of [
  { values: [], p: 99, want: NaN },
  { values: [5], p: 99, want: 5 },
  { values: [3, 1, 2, 4], p: 50, want: 2 },
  { values: Array.from({ length: 200 }, (_, i) => i + 1), p: 99, want: 198 },
  { values: [1, 2, 3], p: 100, want: 3 },
]) {
  test(`percentile p${c.p} of ${c.values.length} values`, () => {
    assert.deepEqual(percentile(c.values, c.p), c.want);
  });
}

test('parseIperf reads sender and receiver rates', () => {
  const r = parseIperf(
    JSON.stringify({
      start: { test_start: { num_streams: 4 } },
      end: {
        sum_sent: { bits_per_second: 2.5e8, retransmits: 7, seconds: 10 },
        sum_received: { bits_per_second: 2.4e8, seconds: 10.04 },
      },
    }),
  );
  assert.deepEqual(r, {
    sentBps: 2.5e8,
    receivedBps: 2.4e8,
    receivedBytes: 0,
    lostPercent: 0,
    retransmits: 7,
    seconds: 10.04,
    streams: 4,
  });
});

test('parseIperf reads the bytes and the loss of a UDP run', () => {
  const r = parseIperf(
    JSON.stringify({
      end: {
        sum_sent: { bits_per_second: 1e8, seconds: 1 },
        sum_received: { bits_per_second: 9e7, seconds: 1.01, bytes: 11_250_000, lost_percent: 10 },
      },
    }),
  );
  assert.equal(r.receivedBytes, 11_250_000);
  assert.equal(r.lostPercent, 10);
});

test('parseIperf throws on a reported error or a missing summary', () => {
  assert.throws(() => parseIperf('{"error":"unable to connect to server"}'), /unable to connect/);
  assert.throws(() => parseIperf('{"end":{}}'), /no end.sum_sent/);
  assert.throws(() => parseIperf('not json'), SyntaxError);
});

test('parseWgDump skips the interface line and reads peers', () => {
  const dump =
    [
      'cHJpdmF0ZQ==\tcHVibGlj\t51820\toff',
      'UEVFUjE=\t(none)\t192.0.2.2:51820\t100.64.0.2/32\t1700000000\t1234\t5678\toff',
      'UEVFUjI=\t(none)\t(none)\t100.64.0.3/32,10.0.0.0/8\t0\t0\t0\t25',
    ].join('\n') + '\n';
  assert.deepEqual(parseWgDump(dump), [
    {
      publicKey: 'UEVFUjE=',
      endpoint: '192.0.2.2:51820',
      allowedIps: ['100.64.0.2/32'],
      lastHandshake: 1_700_000_000_000,
      rxBytes: 1234,
      txBytes: 5678,
    },
    {
      publicKey: 'UEVFUjI=',
      endpoint: null,
      allowedIps: ['100.64.0.3/32', '10.0.0.0/8'],
      lastHandshake: null,
      rxBytes: 0,
      txBytes: 0,
    },
  ]);
});

test('parseStatTicks counts fields after a command name with spaces and parentheses', () => {
  const stat =
    '4242 (node (worker) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 150 25 0 0 20 0 11 0 9999 1000000 5000 ' +
    '18446744073709551615 1 1 0 0 0 0 0 16781312 17922 0 0 0 17 1 0 0 0 0 0';
  assert.equal(parseStatTicks(stat), 175);
});

test('parseVmHwm reads the peak RSS in KiB', () => {
  assert.equal(parseVmHwm('Name:\tnode\nVmPeak:\t 999 kB\nVmHWM:\t   51234 kB\nVmRSS:\t 40000 kB\n'), 51234);
  assert.ok(Number.isNaN(parseVmHwm('Name:\tkthread\n')));
});

for (const c of [
  { name: 'wre2e-0a3f-a', want: parseInt('a3f', 36) },
  { name: 'wre2e-zabc', want: parseInt('abc', 36) },
  { name: 'wre2e-1xyz-v0', want: parseInt('xyz', 36) },
  { name: 'wgc1xyz-a0', want: parseInt('xyz', 36) },
  { name: 'wgc-t0', want: null },
  { name: 'wrdemo-alpha', want: null },
  { name: 'wre2e-', want: null },
  { name: 'other-0abc-a', want: null },
]) {
  test(`runPid(${c.name})`, () => {
    assert.equal(runPid(c.name), c.want);
  });
}

test('newRunId encodes this process, so runPid finds it', () => {
  const a = newRunId();
  const b = newRunId();
  assert.notEqual(a, b);
  assert.equal(runPid(`wre2e-${a}-x`), process.pid);
});

test('pidAlive: this process is alive, an impossible pid is not', () => {
  assert.equal(pidAlive(process.pid), true);
  assert.equal(pidAlive(99_999_999), false);
});
