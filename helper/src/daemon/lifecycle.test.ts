// Lifecycle on its own: order, reverse undo, a failing step and a failing undo.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createLogger } from '../../../src-shared/lib/log.js';
import { Lifecycle, StepError, type Step } from './lifecycle.js';

// steps builds steps that record "start X" and "undo X"; fail names the one that throws, and
// none names one that leaves nothing to undo.
function steps(names: string[], seen: string[], opts: { fail?: string; none?: string; badUndo?: string } = {}): Step[] {
  return names.map((name) => ({
    name,
    async start() {
      seen.push(`start ${name}`);
      if (name === opts.fail) throw new Error(`${name} is broken`);
      if (name === opts.none) return null;
      return async () => {
        seen.push(`undo ${name}`);
        if (name === opts.badUndo) throw new Error('already gone');
      };
    },
  }));
}

function quiet(): { lines: string[]; log: ReturnType<typeof createLogger> } {
  const lines: string[] = [];
  return { lines, log: createLogger(1, { write: (s: string) => lines.push(s) }) };
}

test('steps start in order and stop in reverse; a step without an undo is skipped on stop', async () => {
  const seen: string[] = [];
  const life = new Lifecycle(quiet().log);
  await life.start(steps(['a', 'b', 'c', 'd'], seen, { none: 'b' }));
  assert.deepEqual(life.running, ['a', 'c', 'd']);
  await life.stop();
  assert.deepEqual(seen, ['start a', 'start b', 'start c', 'start d', 'undo d', 'undo c', 'undo a']);
  assert.deepEqual(life.running, []);
  await life.stop();
  assert.equal(seen.length, 7, 'a second stop undoes nothing twice');
});

test('a failing step undoes exactly the steps before it, in reverse, and the error names it', async () => {
  const seen: string[] = [];
  const life = new Lifecycle(quiet().log);
  const err = await life.start(steps(['a', 'b', 'c', 'd'], seen, { fail: 'c' })).then(
    () => null,
    (e: unknown) => e,
  );
  assert.ok(err instanceof StepError);
  assert.equal(err.step, 'c');
  assert.equal(err.message, 'c: c is broken');
  assert.equal(err.reason.message, 'c is broken');
  assert.equal(err.cause, err.reason);
  assert.deepEqual(seen, ['start a', 'start b', 'start c', 'undo b', 'undo a']);
  assert.deepEqual(life.running, []);
});

test('a thrown non-Error still names the step', async () => {
  const life = new Lifecycle(quiet().log);
  const bad: Step = {
    name: 'odd',
    start: () => {
      throw 'text';
    },
  };
  await assert.rejects(life.start([bad]), { name: 'StepError', step: 'odd', message: 'odd: text' });
});

test('an undo that fails is logged with its step and the others still run', async () => {
  const seen: string[] = [];
  const q = quiet();
  const life = new Lifecycle(q.log);
  await life.start(steps(['a', 'b', 'c'], seen, { badUndo: 'b' }));
  await life.stop();
  assert.deepEqual(seen.slice(3), ['undo c', 'undo b', 'undo a']);
  assert.equal(q.lines.length, 1);
  assert.match(q.lines[0]!, /ERROR cleanup step failed \(b\): already gone\n$/);
});
