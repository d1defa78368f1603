import { test } from 'node:test';
import assert from 'node:assert/strict';
import { locateJson } from './json-locate.js';

const TEXT = `{
  "Tags": ["dev", "server"],
  "Policies": [
    {
      "Name": "a \\"quoted\\" name",
      "Acls": [ { "Protocol": "tcp", "Ports": "22" },
                { "Protocol": "udp" } ]
    }
  ],
  "odd key": { "x": [1, [2, 3]] }
}`;

test('locateJson finds members at their key and elements at their value', () => {
  const loc = locateJson(TEXT);
  const cases: [string, number, number][] = [
    ['Tags', 2, 3],
    ['Tags[1]', 2, 19],
    ['Policies[0]', 4, 5],
    ['Policies[0].Name', 5, 7],
    ['Policies[0].Acls[0].Ports', 6, 38],
    ['Policies[0].Acls[1]', 7, 17],
    ['Policies[0].Acls[1].Protocol', 7, 19],
    ['["odd key"].x[1][0]', 10, 26],
  ];
  for (const [path, line, column] of cases) {
    assert.deepEqual(loc.locate(path), { line, column }, path);
  }
});

test('locateJson falls back to the nearest written ancestor for missing keys', () => {
  const loc = locateJson(TEXT);
  assert.deepEqual(loc.locate('Policies[0].Senders'), { line: 4, column: 5 });
  assert.deepEqual(loc.locate('Policies[0].Acls[1].Ports'), { line: 7, column: 17 });
  assert.deepEqual(loc.locate('Routes'), { line: 1, column: 1 });
  assert.deepEqual(loc.locate('Routes[3].Subnets[0]'), { line: 1, column: 1 });
});
