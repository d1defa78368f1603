// The helper's UAPI socket: wg(8) reads the data plane, and every set is refused with -EPERM.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, statSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { parseKey } from '../../../src-shared/lib/keys.js';
import { Daemon } from './index.js';
import { BETA, SELF, Sandbox, fakeEnv, staticProfile } from './testing.js';

function exchange(path: string, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const c = createConnection(path, () => c.write(text));
    let got = '';
    c.setEncoding('latin1');
    c.on('data', (s: string) => {
      got += s;
      if (got.endsWith('\n\n')) {
        c.end();
        resolve(got);
      }
    });
    c.on('error', reject);
  });
}

test('the helper serves a read-only UAPI: get shows its key, port and peers; set is refused with -EPERM and logged', async (t) => {
  const box = new Sandbox();
  t.after(() => box.remove());
  const env = { ...fakeEnv(), uapiDir: join(box.dir, 'wireguard') };
  const d = new Daemon(box.options(staticProfile()), env);
  await d.start();
  try {
    const path = join(env.uapiDir, 'wtest0.sock');
    assert.equal(statSync(path).mode & 0o777, 0o600);
    const get = await exchange(path, 'get=1\n\n');
    assert.match(get, new RegExp(`^private_key=${SELF.priv.toString('hex')}\nlisten_port=51820\n`));
    assert.match(get, new RegExp(`\npublic_key=${parseKey(BETA.pub).toString('hex')}\n`));
    assert.ok(get.endsWith('errno=0\n\n'));
    assert.equal(await exchange(path, 'set=1\nreplace_peers=true\n\n'), 'errno=-1\n\n');
    assert.ok(box.logged('UAPI set refused'));
    assert.equal(await exchange(path, 'get=1\n\n'), get, 'the refused set changed nothing');
    await d.stop();
    assert.equal(existsSync(path), false, 'stopping removes the socket');
  } finally {
    await d.stop();
  }
});
