// The TUN offload switches: on by default, WARREN_TUN_OFFLOAD or WARREN_OFFLOAD turn them off
// (the specific one wins), WARREN_TUN_GRO only the coalescing, and a typo is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { tunOffloadWish } from './offload.js';

test('tunOffloadWish reads WARREN_TUN_OFFLOAD, WARREN_TUN_GRO and WARREN_OFFLOAD', () => {
  assert.deepEqual(tunOffloadWish({}), { offload: true, gro: true });
  assert.deepEqual(tunOffloadWish({ WARREN_TUN_OFFLOAD: 'off' }), { offload: false, gro: false });
  assert.deepEqual(tunOffloadWish({ WARREN_OFFLOAD: 'off' }), { offload: false, gro: false });
  assert.deepEqual(tunOffloadWish({ WARREN_OFFLOAD: 'off', WARREN_TUN_OFFLOAD: 'on' }), { offload: true, gro: true });
  assert.deepEqual(tunOffloadWish({ WARREN_TUN_GRO: 'off' }), { offload: true, gro: false });
  assert.deepEqual(tunOffloadWish({ WARREN_TUN_OFFLOAD: '0', WARREN_TUN_GRO: 'on' }), { offload: false, gro: false });
  assert.throws(() => tunOffloadWish({ WARREN_TUN_GRO: 'nope' }), /WARREN_TUN_GRO="nope": expected 'on' or 'off'/);
});
