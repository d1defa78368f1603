import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IMPLS, parseBenchArgs } from './options.js';

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
    coordinatorSystems: 2000,
  });
  const cases: [string[], Partial<Record<string, unknown>>][] = [
    [['--no-proxy'], { proxy: false, exit: true }],
    [['--no-exit', '--no-proxy'], { proxy: false, exit: false }],
    [['--no-relay'], { relay: false, proxy: true }],
    [['--only', 'warren', '--seconds', '3'], { impls: ['warren'], seconds: 3, proxy: true }],
    [['--no-families'], { families: false, relay: true }],
    [['--family-rounds', '5'], { familyRounds: 5, families: true }],
    [['--coordinator-systems', '0'], { coordinatorSystems: 0 }],
    [['--coordinator-systems', '500'], { coordinatorSystems: 500 }],
  ];
  for (const [argv, want] of cases) {
    const got = parseBenchArgs(argv);
    assert.notEqual(got, 'help');
    for (const [k, v] of Object.entries(want))
      assert.deepEqual((got as unknown as Record<string, unknown>)[k], v, `${argv.join(' ')}: ${k}`);
  }
  assert.equal(parseBenchArgs(['-h']), 'help');
  assert.throws(() => parseBenchArgs(['--seconds', '0']), /--seconds must be 1\.\.600/);
  assert.throws(() => parseBenchArgs(['--only', 'nope']), /--only must be one of/);
  assert.throws(() => parseBenchArgs(['--proxy']), /Unknown option/);
  assert.throws(() => parseBenchArgs(['--family-rounds', '0']), /--family-rounds must be 1\.\.20/);
  assert.throws(() => parseBenchArgs(['--coordinator-systems', '20001']), /--coordinator-systems must be 0\.\.20000/);
});
