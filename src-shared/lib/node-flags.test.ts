// Every launcher of a long-running program gives node the packet-path flags: a launcher that
// lacked one would run its packet path without it, and nothing else would tell.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKET_PATH_NODE_FLAGS } from './node-flags.js';
import { packageRoot } from './package-root.js';

const LAUNCHERS = ['bin/warren', 'bin/warren-wg', 'bin/warren-relay', 'packaging/warren'];

test('the launchers of the helper, warren-wg and the relay carry every packet-path node flag', () => {
  const root = packageRoot(import.meta.url);
  assert.ok(root !== null, 'the checkout is found above the test');
  for (const file of LAUNCHERS) {
    const text = readFileSync(join(root, file), 'utf8');
    // bin/* name them on the first line (env -S), packaging/warren on the line that execs.
    const lines = text.split('\n');
    const launch = (file.startsWith('bin/') ? lines[0] : lines.find((l) => /^\s*exec "\$electron"/.test(l))) ?? '';
    const words = launch.trim().split(/\s+/);
    for (const flag of PACKET_PATH_NODE_FLAGS) assert.ok(words.includes(flag), `${file} lacks ${flag}: ${launch}`);
  }
});
