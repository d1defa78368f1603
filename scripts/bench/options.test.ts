import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMPLS, parseBenchArgs } from './options.js';
import { combineRounds, type Measurement } from './measure.js';

test('parseBenchArgs: defaults, the runs that can be skipped, and bad values', () => {
  assert.deepEqual(parseBenchArgs([]), {
    seconds: 10,
    impls: [...IMPLS],
    parallel: false,
    pings: 200,
    out: undefined,
    exit: true,
    proxy: true,
    relay: true,
    families: true,
    familyRounds: 3,
    rounds: 3,
    coordinatorSystems: 2000,
    coordinatorStores: ['sqlite'],
    alt: null,
    network: true,
  });
  const cases: [string[], Partial<Record<string, unknown>>][] = [
    [['--no-proxy'], { proxy: false, exit: true }],
    [['--no-exit', '--no-proxy'], { proxy: false, exit: false }],
    [['--no-relay'], { relay: false, proxy: true }],
    [['--only', 'warren', '--seconds', '3'], { impls: ['warren'], seconds: 3, proxy: true }],
    [['--only', 'warren,warren-no-offload,wg-go'], { impls: ['warren', 'warren-no-offload', 'wg-go'] }],
    [['--only', 'warren,warren-no-tun-offload'], { impls: ['warren', 'warren-no-tun-offload'] }],
    [['--only', 'warren,warren-no-ticker,wg-go'], { impls: ['warren', 'warren-no-ticker', 'wg-go'] }],
    [['--only', 'warren,warren-ticker,wg-go'], { impls: ['warren', 'warren-ticker', 'wg-go'] }],
    [['--only', 'warren,warren-no-slice,wg-go'], { impls: ['warren', 'warren-no-slice', 'wg-go'] }],
    [['--no-families'], { families: false, relay: true }],
    [['--family-rounds', '5'], { familyRounds: 5, families: true }],
    [['--rounds', '1'], { rounds: 1 }],
    [['--coordinator-systems', '0'], { coordinatorSystems: 0 }],
    [['--coordinator-systems', '500'], { coordinatorSystems: 500 }],
    [['--only', 'coordinator'], { impls: [], network: false, coordinatorSystems: 2000 }],
    [['--only', 'coordinator', '--coordinator-systems', '10000'], { network: false, coordinatorSystems: 10000 }],
    [['--coordinator-store', 'sqlite'], { coordinatorStores: ['sqlite'] }],
    [['--coordinator-store', 'postgres'], { coordinatorStores: ['postgres'] }],
    [['--only', 'coordinator', '--coordinator-store', 'both'], { coordinatorStores: ['sqlite', 'postgres'] }],
  ];
  for (const [argv, want] of cases) {
    const got = parseBenchArgs(argv);
    assert.notEqual(got, 'help');
    for (const [k, v] of Object.entries(want))
      assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${argv.join(' ')}: ${k}`);
  }
  assert.equal(parseBenchArgs(['-h']), 'help');
  assert.throws(() => parseBenchArgs(['--seconds', '0']), /--seconds must be 1\.\.600/);
  assert.throws(() => parseBenchArgs(['--only', 'nope']), /--only must be one or more of/);
  assert.throws(() => parseBenchArgs(['--proxy']), /Unknown option/);
  assert.throws(() => parseBenchArgs(['--family-rounds', '0']), /--family-rounds must be 1\.\.20/);
  assert.throws(
    () => parseBenchArgs(['--coordinator-store', 'mysql']),
    /--coordinator-store must be sqlite, postgres or both/,
  );
  assert.throws(() => parseBenchArgs(['--coordinator-systems', '20001']), /--coordinator-systems must be 0\.\.20000/);
});

test('parseBenchArgs: warren-alt takes another CLI and node flags from the environment, checked', () => {
  const alt = ['--only', 'warren,warren-alt'];
  const altOf = (env: NodeJS.ProcessEnv): unknown => (parseBenchArgs(alt, env) as { alt: unknown }).alt;
  const flags = (v: string): unknown => altOf({ WARREN_BENCH_ALT_NODE_FLAGS: v });
  assert.deepEqual(flags(' --no-memory-reducer  --interrupt-budget=1024 '), {
    nodeFlags: ['--no-memory-reducer', '--interrupt-budget=1024'],
  });
  assert.deepEqual(flags(''), { nodeFlags: [] }, "empty: node without any of the launchers' flags");
  const cli = '/work/main/dist/helper/src/cli/main.js';
  assert.deepEqual(altOf({ WARREN_BENCH_ALT_CLI: cli }), { cli });
  assert.deepEqual(altOf({ WARREN_BENCH_ALT_CLI: cli, WARREN_BENCH_ALT_NODE_FLAGS: '--x' }), {
    cli,
    nodeFlags: ['--x'],
  });
  assert.throws(() => parseBenchArgs(alt, {}), /warren-alt needs WARREN_BENCH_ALT_CLI or WARREN_BENCH_ALT_NODE_FLAGS/);
  assert.throws(() => flags('--x; rm -rf /'), /not a node flag: "--x;"/);
  assert.throws(() => flags('-e code'), /not a node flag: "-e"/);
  assert.throws(() => altOf({ WARREN_BENCH_ALT_CLI: 'main.js' }), /not an absolute path to a \.js file/);
  assert.throws(() => altOf({ WARREN_BENCH_ALT_CLI: '/x/main.js; id' }), /not an absolute path to a \.js file/);
  const off = parseBenchArgs(['--only', 'warren'], { WARREN_BENCH_ALT_NODE_FLAGS: 'bad flag' });
  assert.equal((off as { alt: unknown }).alt, null, 'not read unless warren-alt is measured');
});

test('combineRounds reports the median of each figure and the throughput range of the rounds', () => {
  const run = (mbps: number, rtt: number, cpuA: number): Measurement => ({
    throughputMbps: mbps,
    retransmits: 10,
    throughputP4Mbps: null,
    rttAvgMs: rtt,
    rttP50Ms: rtt,
    rttP99Ms: rtt * 2,
    rttP99SettledMs: rtt,
    pingLossPct: 0,
    cpuSeconds: { a: cpuA, b: 1 },
    peakRssKiB: { a: 1000, b: 2000 },
    rounds: 1,
    throughputRangeMbps: { min: mbps, max: mbps },
  });
  const c = combineRounds([run(300, 0.5, 2), run(900, 0.3, 1), run(500, 0.4, 3)]);
  assert.equal(c.throughputMbps, 500);
  assert.deepEqual(c.throughputRangeMbps, { min: 300, max: 900 });
  assert.equal(c.rttAvgMs, 0.4);
  assert.equal(c.rttP99SettledMs, 0.4, 'the median of the settled p99s');
  assert.deepEqual(c.cpuSeconds, { a: 2, b: 1 });
  assert.equal(c.throughputP4Mbps, null, 'no 4-stream figure unless every round has one');
  assert.equal(c.rounds, 3);
});
