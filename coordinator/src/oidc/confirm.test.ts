// The confirmation's Origin check: only the coordinator's own origin (PublicUrl's) passes.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { originProblem } from './confirm.js';

test('a confirmation is accepted only from the coordinator’s own origin', () => {
  const own = 'https://coord.example.com:8443';
  assert.equal(originProblem(own, own), null);
  assert.equal(originProblem('HTTPS://COORD.example.com:8443', own), null, 'origins compare without case');
  assert.match(originProblem(undefined, own)!, /no Origin header/);
  assert.match(originProblem('null', own)!, /Origin "null" is not the coordinator's own/);
  assert.match(originProblem('https://coord.example.com', own)!, /not the coordinator's own/, 'another port');
  assert.match(originProblem('http://coord.example.com:8443', own)!, /not the coordinator's own/, 'another scheme');
  assert.match(originProblem(['https://evil.example', own], own)!, /evil/, 'the first of repeated headers');
});
