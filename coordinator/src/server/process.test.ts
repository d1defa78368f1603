// warren-coordinator as a process: files and modes in the data dir, clean SIGTERM, a restart that
// keeps everything, TLS with a self-signed certificate, and exit code 2 for bad flags.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { keyFingerprint } from '../../../src-shared/lib/fingerprint.js';
import type { CreatedKey } from '../api/admin-types.js';
import { SimAgent } from '../testing/agent-sim.js';
import { adminCall, REPO_ROOT, startCoordinatorProcess } from '../testing/testing.js';

const keyBody = { tags: ['dev'], approval: 'automatic', uses: 5, expiresInMs: 3_600_000, ephemeral: false };

test('serve creates a private data dir, stops cleanly on SIGTERM and restarts with everything kept', async () => {
  const root = mkdtempSync(join(tmpdir(), 'warren-coordproc-'));
  const dataDir = join(root, 'data');
  try {
    const p = await startCoordinatorProcess({ dataDir, listen: '127.0.0.1:0' });
    let agent: SimAgent;
    let res: Awaited<ReturnType<SimAgent['enrol']>>;
    try {
      assert.equal(statSync(dataDir).mode & 0o777, 0o700);
      for (const f of ['coordinator.db', 'signing.key', 'admin.token', 'serve.json']) {
        assert.equal(statSync(join(dataDir, f)).mode & 0o777, 0o600, f);
      }
      assert.ok(p.udpPort > 0);
      const serve = JSON.parse(readFileSync(join(dataDir, 'serve.json'), 'utf8')) as Record<string, unknown>;
      assert.match(String(serve.network6), /^fd[0-9a-f]{2}:[0-9a-f]{1,4}:[0-9a-f]{1,4}::\/48$/);
      assert.deepEqual(serve, {
        url: p.url,
        pid: p.pid,
        udpPort: p.udpPort,
        publicKey: p.publicKey,
        fingerprint: keyFingerprint(Buffer.from(p.publicKey, 'base64')),
        network: '100.64.0.0/10',
        network6: serve.network6,
      });
      const k = await adminCall<CreatedKey>(p.url, p.adminToken, 'POST', '/v1/admin/keys', keyBody);
      agent = new SimAgent(p.url);
      res = await agent.enrol(k.body.key, 'proc');
    } catch (e) {
      await p.kill();
      throw e;
    }
    assert.equal(await p.stop(), 0);
    assert.equal(existsSync(join(dataDir, 'serve.json')), false);
    assert.match(p.output(), /SIGTERM: shutting down/);
    assert.match(p.output(), /INFO stopped/);

    const q = await startCoordinatorProcess({ dataDir, listen: '127.0.0.1:0' });
    try {
      assert.equal(q.publicKey, p.publicKey);
      assert.equal(q.adminToken, p.adminToken);
      const again = new SimAgent(q.url, { keys: agent.keys });
      Object.assign(again, { systemId: agent.systemId, coordinatorPublicKey: agent.coordinatorPublicKey });
      const map = await again.getMap();
      assert.equal(map.self.virtualAddress, res.virtualAddress);
      assert.ok(map.version > again.verify(res.map!).version);
    } finally {
      await q.kill();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('serve with --tls-cert and --tls-key speaks HTTPS', async (t) => {
  const openssl = spawnSync('openssl', ['version']);
  if (openssl.status !== 0) {
    t.skip('openssl is not installed, so no certificate can be made for this test');
    return;
  }
  const root = mkdtempSync(join(tmpdir(), 'warren-coordtls-'));
  try {
    const cert = join(root, 'cert.pem');
    const key = join(root, 'key.pem');
    const made = spawnSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'ec',
        '-pkeyopt',
        'ec_paramgen_curve:prime256v1',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=127.0.0.1',
        '-addext',
        'subjectAltName=IP:127.0.0.1',
        '-keyout',
        key,
        '-out',
        cert,
      ],
      { encoding: 'utf8' },
    );
    assert.equal(made.status, 0, made.stderr);
    const dataDir = join(root, 'data');
    const pem = readFileSync(cert);
    const p = await startCoordinatorProcess({
      dataDir,
      listen: '127.0.0.1:0',
      args: ['--tls-cert', cert, '--tls-key', key],
    });
    try {
      assert.match(p.url, /^https:\/\/127\.0\.0\.1:\d+$/);
      const k = await adminCall<CreatedKey>(p.url, p.adminToken, 'POST', '/v1/admin/keys', keyBody, pem);
      assert.equal(k.status, 201);
      const agent = new SimAgent(p.url, { ca: pem });
      await agent.enrol(k.body.key, 'tls');
      const m = await agent.getMap();
      assert.equal(m.systemId, agent.systemId);
      // Without trusting the certificate, a client refuses the server.
      await assert.rejects(adminCall(p.url, p.adminToken, 'GET', '/v1/admin/keys'), /self-signed|certificate/);
    } finally {
      await p.stop();
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('bad serve flags exit with 2 and say what is wrong', () => {
  const main = join(REPO_ROOT, 'coordinator', 'src', 'main.ts');
  const fromSource = import.meta.url.endsWith('.ts');
  const argv = fromSource ? ['--import', 'tsx', main] : [join(REPO_ROOT, 'bin', 'warren-coordinator')];
  const cases: [string[], RegExp][] = [
    [['serve', '--listen', '127.0.0.1:0'], /--data DIR is required/],
    [['serve', '--data', '/nonexistent/x', '--listen', 'localhost'], /is not HOST:PORT/],
    [['serve', '--data', '/nonexistent/x', '--listen', '127.0.0.1:0', '--network', '100.64.0.1/10'], /host bits set/],
    [['serve', '--data', '/nonexistent/x', '--listen', '127.0.0.1:0', '--tls-cert', 'x'], /go together/],
    [['serve', '--data', '/nonexistent/x', '--listen', '127.0.0.1:0', '--ephemeral-timeout', 'soon'], /not a duration/],
  ];
  for (const [args, want] of cases) {
    const r = spawnSync(process.execPath, [...argv, ...args], { encoding: 'utf8', timeout: 20_000 });
    assert.equal(r.status, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.match(r.stderr, want);
  }
});
