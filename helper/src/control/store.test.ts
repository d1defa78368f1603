// Tests of the stored network map (STATE_DIR/netmap.json): an atomic 0600 write in a 0700
// directory, and a load that gives null for anything that is not a signed map.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CONTROL_LIMITS } from '../../../src-shared/wire/control.js';
import { loadStoredMap, storeMap } from './store.js';

function withStateDir(fn: (stateDir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'warren-map-store-'));
  try {
    fn(join(dir, 'state'));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('storeMap writes netmap.json (0600, directory 0700, no temporary file left) and loadStoredMap reads it back', () => {
  withStateDir((stateDir) => {
    const first = { payload: 'eyJ2ZXJzaW9uIjoxfQ==', signature: 'c2lnbmF0dXJl' };
    storeMap(stateDir, first);
    const second = { payload: 'eyJ2ZXJzaW9uIjoyfQ==', signature: 'c2lnbmF0dXJlMg==' };
    storeMap(stateDir, second);
    assert.equal(statSync(stateDir).mode & 0o777, 0o700);
    assert.equal(statSync(join(stateDir, 'netmap.json')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(stateDir), ['netmap.json']);
    assert.equal(readFileSync(join(stateDir, 'netmap.json'), 'utf8'), JSON.stringify(second));
    assert.deepEqual(loadStoredMap(stateDir), second);
  });
});

test('loadStoredMap gives null for a missing, garbled, oversized or incomplete file', () => {
  withStateDir((stateDir) => {
    assert.equal(loadStoredMap(stateDir), null, 'missing');
    storeMap(stateDir, { payload: 'cA==', signature: 'cw==' });
    const file = join(stateDir, 'netmap.json');
    const cases: Array<[string, string]> = [
      ['garbled', '{"payload": "cA=='],
      ['no signature', JSON.stringify({ payload: 'cA==' })],
      ['signature not a string', JSON.stringify({ payload: 'cA==', signature: 7 })],
      ['JSON null', 'null'],
      ['oversized', JSON.stringify({ payload: 'A'.repeat(CONTROL_LIMITS.mapBytes * 2), signature: 'cw==' })],
    ];
    for (const [what, text] of cases) {
      writeFileSync(file, text);
      assert.equal(loadStoredMap(stateDir), null, what);
    }
  });
});
