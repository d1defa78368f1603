// When the bench starts itself again with the agents' node flags (agents-node.ts), and when not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AGENTS_NODE_ARGS, agentsNodeArgs } from './agents-node.js';

test('the bench restarts with the default flags unless it has them, was restarted, or is told otherwise', () => {
  assert.deepEqual(agentsNodeArgs({}, []), [AGENTS_NODE_ARGS]);
  assert.deepEqual(agentsNodeArgs({}, ['--enable-source-maps']), [AGENTS_NODE_ARGS]);
  assert.deepEqual(agentsNodeArgs({}, [AGENTS_NODE_ARGS]), [], 'started with them already');
  assert.deepEqual(agentsNodeArgs({ WARREN_BENCH_AGENTS_STARTED: '1' }, []), [], 'restarted once, never again');
  assert.deepEqual(agentsNodeArgs({ WARREN_BENCH_AGENTS_NODE_ARGS: '' }, []), [], 'empty: none');
  assert.deepEqual(
    agentsNodeArgs({ WARREN_BENCH_AGENTS_NODE_ARGS: ' --max-semi-space-size=32  --trace-gc ' }, ['--trace-gc']),
    ['--max-semi-space-size=32', '--trace-gc'],
  );
});
