// The reader mode override that benchmarks use: accepted forms, defaults, and refusing typos.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_READER_MODES, readerMode } from './mode.js';

test('without WARREN_READER_MODE each kind gets its default', () => {
  for (const env of [{}, { WARREN_READER_MODE: '' }, { WARREN_READER_MODE: '  ' }]) {
    assert.equal(readerMode('tun', env), DEFAULT_READER_MODES.tun);
    assert.equal(readerMode('udp', env), DEFAULT_READER_MODES.udp);
  }
});

test('one mode applies to both kinds; a list sets kinds one by one', () => {
  for (const mode of ['thread', 'poll'] as const) {
    assert.equal(readerMode('tun', { WARREN_READER_MODE: mode }), mode);
    assert.equal(readerMode('udp', { WARREN_READER_MODE: ` ${mode} ` }), mode);
  }
  const env = { WARREN_READER_MODE: 'tun=poll, udp=thread' };
  assert.equal(readerMode('tun', env), 'poll');
  assert.equal(readerMode('udp', env), 'thread');
  assert.equal(readerMode('tun', { WARREN_READER_MODE: 'udp=poll' }), DEFAULT_READER_MODES.tun);
  assert.equal(readerMode('udp', { WARREN_READER_MODE: 'udp=poll' }), 'poll');
});

test('a value that does not parse throws instead of falling back', () => {
  for (const value of ['Poll', 'epoll', 'tun=poll,udp', 'tun=poll=thread', 'tcp=poll', 'tun=fast', ',']) {
    assert.throws(() => readerMode('tun', { WARREN_READER_MODE: value }), /WARREN_READER_MODE=.*expected/, value);
  }
});
