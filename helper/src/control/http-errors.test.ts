// The coordinator client's transport errors against real servers on this machine: each common
// mistake gets the sentence that says what to do (http-errors.ts), not Node's raw words.
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createServer as createHttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as NetServer } from 'node:net';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { controlRequest } from './http.js';
import { transportProblem } from './http-errors.js';

async function listening(s: NetServer): Promise<number> {
  await new Promise<void>((resolve) => s.listen(0, '127.0.0.1', () => resolve()));
  return (s.address() as AddressInfo).port;
}

async function failureOf(base: string, timeoutMs = 5000): Promise<string> {
  try {
    await controlRequest({ base, method: 'GET', path: '/v1/info', timeoutMs });
  } catch (e) {
    return (e as Error).message;
  }
  assert.fail(`a request to ${base} succeeded`);
}

test('https:// to a plain http server says the coordinator does not speak TLS, not EPROTO', async () => {
  const server = createHttpServer((_req, res) => res.end('{}'));
  const port = await listening(server);
  try {
    const m = await failureOf(`https://127.0.0.1:${port}`);
    assert.equal(m, `the coordinator at https://127.0.0.1:${port} does not speak TLS; use http:// or check the port`);
  } finally {
    server.close();
  }
});

test('a closed port says nothing accepts connections there and what to check', async () => {
  const s = createTcpServer();
  const port = await listening(s);
  await new Promise((resolve) => s.close(resolve));
  const m = await failureOf(`http://127.0.0.1:${port}`);
  assert.match(
    m,
    new RegExp(
      `^cannot reach the coordinator at http://127\\.0\\.0\\.1:${port}: nothing accepts connections there \\(connection refused\\); check the host and port`,
    ),
  );
  assert.doesNotMatch(m, /ECONNREFUSED/);
});

test('a server that accepts and never answers gives the timeout sentence', async () => {
  const held: import('node:net').Socket[] = [];
  const s = createTcpServer((c) => held.push(c));
  const port = await listening(s);
  try {
    const m = await failureOf(`http://127.0.0.1:${port}`, 300);
    assert.match(m, /^no answer from the coordinator at http:\/\/127\.0\.0\.1:\d+ in time: check that it is reachable/);
  } finally {
    for (const c of held) c.destroy();
    s.close();
  }
});

test('a certificate this system does not trust is named as such, with what to do', async (t: TestContext) => {
  if (spawnSync('openssl', ['version']).status !== 0) {
    t.skip('openssl is not installed, so no certificate can be made for this test');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'warren-http-errors-'));
  try {
    const made = spawnSync('openssl', [
      ...['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'],
      ...['-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1'],
      ...['-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')],
    ]);
    assert.equal(made.status, 0, String(made.stderr));
    const server = createHttpsServer(
      { key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) },
      (_req, res) => res.end('{}'),
    );
    const port = await listening(server);
    try {
      const m = await failureOf(`https://127.0.0.1:${port}`);
      assert.match(
        m,
        /^the certificate of https:\/\/127\.0\.0\.1:\d+ is not signed by an authority this system trusts \(DEPTH_ZERO_SELF_SIGNED_CERT\)/,
      );
      assert.match(m, /NODE_EXTRA_CA_CERTS/);
    } finally {
      server.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('DNS failures, unreachable networks and unknown errors each keep a sentence naming the coordinator', () => {
  const o = 'https://coord.example:8443';
  assert.match(
    transportProblem({ code: 'ENOTFOUND' }, o),
    /the name coord\.example does not resolve \(DNS\); check its spelling/,
  );
  assert.match(transportProblem({ code: 'EAI_AGAIN' }, o), /temporary failure/);
  assert.match(transportProblem({ code: 'EHOSTUNREACH' }, o), /no route to coord\.example/);
  assert.match(
    transportProblem({ code: 'CERT_HAS_EXPIRED' }, o),
    /has expired or is not valid yet: check this system's clock/,
  );
  assert.match(transportProblem({ code: 'ERR_TLS_CERT_ALTNAME_INVALID' }, o), /is not for the name coord\.example/);
  assert.equal(transportProblem(new Error('odd\n  thing'), o), `cannot reach the coordinator at ${o}: odd thing`);
});
