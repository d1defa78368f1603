// onOffSwitch, the reading of the data path's on/off switches: on and off with their synonyms,
// case and spaces ignored, unset or blank left to the caller's default, anything else refused
// with the variable's name.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { onOffSwitch } from './switch.js';

test('onOffSwitch: on/off and their synonyms, unset or blank undefined, anything else refused', () => {
  const read = (v: string | undefined): boolean | undefined => onOffSwitch({ WARREN_X: v }, 'WARREN_X');
  assert.equal(read(undefined), undefined);
  assert.equal(read(''), undefined);
  assert.equal(read('  '), undefined);
  for (const v of ['on', 'ON', ' true ', '1']) assert.equal(read(v), true, v);
  for (const v of ['off', 'Off', 'false', '0']) assert.equal(read(v), false, v);
  assert.throws(() => read('of'), /^Error: WARREN_X="of": expected 'on' or 'off'$/);
});
