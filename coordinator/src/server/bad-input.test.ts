// Every route against bad input: each request gets a clear 4xx with its control.ts code, and
// the coordinator's state (systems, keys, policy, map version) is exactly as before.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { CONTROL_PATHS, CONTROL_PROTOCOL, type ControlErrorBody } from '../../../src-shared/wire/control.js';
import type { AdminSystem, CoordinatorStats, CreatedKey } from '../api/admin-types.js';
import { authHeader, buildEnrolRequest, generateAgentKeys, SimAgent } from '../testing/agent-sim.js';
import { send } from '../http/client.js';
import { startTestCoordinator, type TestCoordinator } from '../testing/testing.js';

interface Req {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** chunked sends the body without a Content-Length. */
  chunked?: boolean;
}

async function raw(c: TestCoordinator, r: Req): Promise<{ status: number; body: ControlErrorBody }> {
  if (r.chunked) {
    return new Promise((resolve, reject) => {
      const req = request(
        `${c.url}${r.path}`,
        { method: r.method, headers: { ...r.headers, 'transfer-encoding': 'chunked' } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (d: Buffer) => chunks.push(d));
          res.on('end', () =>
            resolve({
              status: res.statusCode ?? 0,
              body: JSON.parse(Buffer.concat(chunks).toString()) as ControlErrorBody,
            }),
          );
        },
      );
      req.on('error', reject);
      const body = Buffer.from(r.body ?? '');
      for (let i = 0; i < body.length; i += 8192) req.write(body.subarray(i, i + 8192));
      req.end();
    });
  }
  const res = await send(`${c.url}${r.path}`, {
    method: r.method,
    headers: r.headers ?? {},
    ...(r.body !== undefined ? { body: r.body } : {}),
  });
  return { status: res.status, body: JSON.parse(res.body.toString('utf8') || 'null') as ControlErrorBody };
}

async function snapshot(c: TestCoordinator): Promise<string> {
  const stats = (await c.admin<CoordinatorStats>('GET', '/v1/admin/stats')).body;
  const systems = (await c.admin<{ systems: AdminSystem[] }>('GET', '/v1/admin/systems')).body.systems.map(
    ({ lastSeen: _l, online: _o, ...rest }) => rest,
  );
  const keys = (await c.admin('GET', '/v1/admin/keys')).body;
  const policy = (await c.admin<{ text: string | null }>('GET', '/v1/admin/policy')).body.text;
  return JSON.stringify({ version: stats.mapVersion, systems, keys, policy });
}

async function newKey(c: TestCoordinator, over: Record<string, unknown> = {}): Promise<CreatedKey> {
  const r = await c.admin<CreatedKey>('POST', '/v1/admin/keys', {
    tags: ['dev'],
    approval: 'automatic',
    uses: 5,
    expiresInMs: 3_600_000,
    ephemeral: false,
    ...over,
  });
  assert.equal(r.status, 201);
  return r.body;
}

test('bad input to every route is refused with a 4xx and a code, and changes nothing', async (t) => {
  let offset = 0;
  const c = await startTestCoordinator({ now: () => Date.now() + offset });
  try {
    const good = await newKey(c);
    const usedUp = await newKey(c, { uses: 1 });
    const revoked = await newKey(c);
    const expiring = await newKey(c, { expiresInMs: 1000 });
    await c.admin('POST', `/v1/admin/keys/${revoked.id}/revoke`);
    // Use up `usedUp` and enrol the agent the signed-route cases speak for.
    await new SimAgent(c.url).enrol(usedUp.key, 'used');
    const agent = new SimAgent(c.url);
    await agent.enrol(good.key, 'agent');
    await c.admin('PUT', '/v1/admin/policy', '{"Tags":["dev"]}');
    // The shortest key life is a second; let it run out before any snapshot, so the snapshots
    // before and after a case cannot straddle its expiry on a slow machine.
    const left = expiring.expiresAt - Date.now();
    if (left >= 0) await new Promise((r) => setTimeout(r, left + 50));

    const json = { 'content-type': 'application/json' };
    const enrolBody = (over: Record<string, unknown> = {}, k = good.key): string =>
      JSON.stringify({ ...buildEnrolRequest(generateAgentKeys(), k, 'new'), ...over });
    const signed = (
      method: string,
      path: string,
      body = '',
      opts: {
        ts?: number;
        signPath?: string;
        keys?: ReturnType<typeof generateAgentKeys>;
        system?: string;
        signBody?: string;
      } = {},
    ): Req => ({
      method,
      path,
      body: body === '' ? undefined : body,
      headers: {
        ...json,
        authorization: authHeader(
          opts.keys ?? agent.keys,
          opts.system ?? agent.systemId,
          method,
          opts.signPath ?? path,
          Buffer.from(opts.signBody ?? body),
          opts.ts ?? Date.now(),
        ),
      },
    });
    const admin = { authorization: `Bearer ${c.adminToken}`, ...json };

    const cases: { name: string; req: () => Req; status: number; code: string; before?: () => Promise<void> }[] = [
      {
        name: 'enrol: malformed JSON',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.enrol, headers: json, body: '{"protocol":1,' }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: not an object',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.enrol, headers: json, body: '[1,2]' }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: duplicate key',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody().replace('{', '{"hostname":"x",'),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: not UTF-8',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: Buffer.from([0x7b, 0xff, 0x7d]),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: unknown field',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.enrol, headers: json, body: enrolBody({ admin: true }) }),
        status: 400,
        code: 'unknown-field',
      },
      {
        name: 'enrol: missing field',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody().replace(/,"hostname":"new"/, ''),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: other protocol',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody({ protocol: CONTROL_PROTOCOL + 1 }),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: bad WireGuard key',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody({ wireguardPublicKey: 'AAAA' }),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: bad endpoint',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody({ endpoints: ['1.2.3.4'] }),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: hostname with control characters',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody({ hostname: 'a\nb' }),
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'enrol: oversized body',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: `{"x":"${'a'.repeat(70_000)}"}`,
        }),
        status: 413,
        code: 'payload-too-large',
      },
      {
        name: 'enrol: oversized chunked body',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: `{"x":"${'a'.repeat(70_000)}"}`,
          chunked: true,
        }),
        status: 413,
        code: 'payload-too-large',
      },
      {
        name: 'enrol: proof by another key',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody({ machinePublicKey: generateAgentKeys().machinePublicKey }),
        }),
        status: 401,
        code: 'bad-signature',
      },
      {
        name: 'enrol: skewed clock',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: JSON.stringify(buildEnrolRequest(generateAgentKeys(), good.key, 'x', [], Date.now() - 120_000)),
        }),
        status: 401,
        code: 'clock-skew',
      },
      {
        name: 'enrol: unknown key',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: enrolBody({}, `wek-${'A'.repeat(43)}`),
        }),
        status: 401,
        code: 'key-invalid',
      },
      {
        name: 'enrol: malformed key',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.enrol, headers: json, body: enrolBody({}, 'hello') }),
        status: 401,
        code: 'key-invalid',
      },
      {
        name: 'enrol: used-up key',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.enrol, headers: json, body: enrolBody({}, usedUp.key) }),
        status: 403,
        code: 'key-used-up',
      },
      {
        name: 'enrol: revoked key',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.enrol, headers: json, body: enrolBody({}, revoked.key) }),
        status: 403,
        code: 'key-revoked',
      },
      {
        name: 'enrol: expired key',
        status: 403,
        code: 'key-expired',
        before: async () => void (offset = 5000),
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.enrol,
          headers: json,
          body: JSON.stringify(buildEnrolRequest(generateAgentKeys(), expiring.key, 'x', [], Date.now() + offset)),
        }),
      },
      {
        name: 'enrol: same WireGuard key, other machine key',
        status: 409,
        code: 'conflict',
        req: () => {
          const keys = { ...generateAgentKeys(), wireguardPublicKey: agent.keys.wireguardPublicKey };
          return {
            method: 'POST',
            path: CONTROL_PATHS.enrol,
            headers: json,
            body: JSON.stringify(buildEnrolRequest(keys, good.key, 'x')),
          };
        },
      },
      {
        name: 'map: no signature',
        req: () => ({ method: 'GET', path: CONTROL_PATHS.map }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'map: malformed header',
        req: () => ({ method: 'GET', path: CONTROL_PATHS.map, headers: { authorization: 'Warren-Sig system=x,ts=1' } }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'map: bearer token instead',
        req: () => ({ method: 'GET', path: CONTROL_PATHS.map, headers: { authorization: `Bearer ${c.adminToken}` } }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'map: unknown system',
        req: () => signed('GET', CONTROL_PATHS.map, '', { system: 'sys-nobody' }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'map: signed by another key',
        req: () => signed('GET', CONTROL_PATHS.map, '', { keys: generateAgentKeys() }),
        status: 401,
        code: 'bad-signature',
      },
      {
        name: 'map: signature for another path',
        req: () => signed('GET', CONTROL_PATHS.map, '', { signPath: CONTROL_PATHS.watch }),
        status: 401,
        code: 'bad-signature',
      },
      {
        name: 'map: skewed clock',
        req: () => signed('GET', CONTROL_PATHS.map, '', { ts: Date.now() + offset + 90_000 }),
        status: 401,
        code: 'clock-skew',
      },
      {
        name: 'watch: bad since',
        req: () => signed('GET', `${CONTROL_PATHS.watch}?since=abc`),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: unknown field',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":1,"addresses":[],"x":1}'),
        status: 400,
        code: 'unknown-field',
      },
      {
        name: 'endpoints: malformed JSON',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: loopback address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["127.0.0.1"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: IPv6 loopback address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["::1"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: IPv6 link-local address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["fe80::1"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: IPv4-mapped IPv6 address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["::ffff:192.0.2.1"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: IPv6 multicast address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["ff02::1"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: IPv6 in brackets address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["[2001:db8::1]"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: IPv6 with a zone address',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":5,"addresses":["2001:db8::1%eth0"]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: port out of range',
        req: () => signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":70000,"addresses":[]}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'endpoints: body changed after signing',
        req: () =>
          signed('POST', CONTROL_PATHS.endpoints, '{"listenPort":6,"addresses":[]}', {
            signBody: '{"listenPort":5,"addresses":[]}',
          }),
        status: 401,
        code: 'bad-signature',
      },
      {
        name: 'endpoints: oversized body',
        req: () => signed('POST', CONTROL_PATHS.endpoints, `{"x":"${'a'.repeat(70_000)}"}`),
        status: 413,
        code: 'payload-too-large',
      },
      {
        name: 'relay token: no signature',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.relayToken, headers: json, body: '{}' }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'relay token: unknown field',
        req: () => signed('POST', CONTROL_PATHS.relayToken, '{"systemId":"sys-other"}'),
        status: 400,
        code: 'unknown-field',
      },
      {
        name: 'relay token: not an object',
        req: () => signed('POST', CONTROL_PATHS.relayToken, '[]'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'relay token: malformed JSON',
        req: () => signed('POST', CONTROL_PATHS.relayToken, '{'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'relay token: GET instead of POST',
        req: () => signed('GET', CONTROL_PATHS.relayToken),
        status: 405,
        code: 'bad-request',
      },
      {
        name: 'relay token: no relay named',
        req: () => signed('POST', CONTROL_PATHS.relayToken, '{}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'relay token: a relay name that is not a string',
        req: () => signed('POST', CONTROL_PATHS.relayToken, '{"relay":7}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'relay token: a relay the maps do not list',
        req: () => signed('POST', CONTROL_PATHS.relayToken, '{"relay":"elsewhere"}'),
        status: 404,
        code: 'not-found',
      },
      {
        name: 'discovery key: no signature',
        req: () => ({ method: 'POST', path: CONTROL_PATHS.discoveryKey, headers: json, body: '{}' }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'discovery key: unknown field',
        req: () => signed('POST', CONTROL_PATHS.discoveryKey, '{"systemId":"sys-other"}'),
        status: 400,
        code: 'unknown-field',
      },
      { name: 'punch: empty body', req: () => signed('POST', CONTROL_PATHS.punch), status: 400, code: 'bad-request' },
      {
        name: 'punch: no peer',
        req: () => signed('POST', CONTROL_PATHS.punch, '{}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'punch: peer not a string',
        req: () => signed('POST', CONTROL_PATHS.punch, '{"peer":5}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'punch: peer not an identity',
        req: () => signed('POST', CONTROL_PATHS.punch, '{"peer":"sys-abc"}'),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'punch: overlong peer',
        req: () => signed('POST', CONTROL_PATHS.punch, JSON.stringify({ peer: 'A'.repeat(5000) })),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'punch: unknown field',
        req: () => signed('POST', CONTROL_PATHS.punch, `{"peer":"${agent.identity}","endpoints":[]}`),
        status: 400,
        code: 'unknown-field',
      },
      {
        name: 'punch: not a peer',
        req: () => signed('POST', CONTROL_PATHS.punch, '{"peer":"ZZZZZ"}'),
        status: 404,
        code: 'not-found',
      },
      {
        name: 'punch: body changed after signing',
        req: () => signed('POST', CONTROL_PATHS.punch, '{"peer":"ZZZZY"}', { signBody: '{"peer":"ZZZZZ"}' }),
        status: 401,
        code: 'bad-signature',
      },
      {
        name: 'punch: oversized body',
        req: () => signed('POST', CONTROL_PATHS.punch, `{"peer":"${'a'.repeat(70_000)}"}`),
        status: 413,
        code: 'payload-too-large',
      },
      {
        name: 'admin: no token',
        req: () => ({ method: 'GET', path: CONTROL_PATHS.adminSystems }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'admin: wrong token',
        req: () => ({
          method: 'PUT',
          path: CONTROL_PATHS.adminPolicy,
          headers: { ...json, authorization: 'Bearer wrongwrongwrong' },
          body: '{}',
        }),
        status: 401,
        code: 'unauthorized',
      },
      {
        name: 'admin: policy with an error',
        req: () => ({
          method: 'PUT',
          path: CONTROL_PATHS.adminPolicy,
          headers: admin,
          body: '{"Tags":["dev"],\n "Policies": 5}',
        }),
        status: 422,
        code: 'policy-invalid',
      },
      {
        name: 'admin: oversized policy',
        req: () => ({
          method: 'PUT',
          path: CONTROL_PATHS.adminPolicy,
          headers: admin,
          body: `{"Tags":[${'"a",'.repeat(300_000)}"b"]}`,
        }),
        status: 413,
        code: 'payload-too-large',
      },
      {
        name: 'admin: key with unknown field',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.adminKeys,
          headers: admin,
          body: '{"tags":[],"approval":"gated","uses":1,"expiresInMs":5000,"ephemeral":false,"x":1}',
        }),
        status: 400,
        code: 'unknown-field',
      },
      {
        name: 'admin: key with bad approval',
        req: () => ({
          method: 'POST',
          path: CONTROL_PATHS.adminKeys,
          headers: admin,
          body: '{"tags":[],"approval":"maybe","uses":1,"expiresInMs":5000,"ephemeral":false}',
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'admin: bad tag',
        req: () => ({
          method: 'POST',
          path: `${CONTROL_PATHS.adminSystems}/${agent.identity}/tags`,
          headers: admin,
          body: '{"add":["no spaces"]}',
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'admin: bad DNS name',
        req: () => ({
          method: 'POST',
          path: `${CONTROL_PATHS.adminSystems}/${agent.identity}/dns`,
          headers: admin,
          body: '{"names":["-x"]}',
        }),
        status: 400,
        code: 'bad-request',
      },
      {
        name: 'admin: rename to a taken name',
        req: () => ({
          method: 'POST',
          path: `${CONTROL_PATHS.adminSystems}/${agent.identity}/name`,
          headers: admin,
          body: '{"name":"used"}',
        }),
        status: 409,
        code: 'conflict',
      },
      {
        name: 'admin: unknown system',
        req: () => ({ method: 'POST', path: `${CONTROL_PATHS.adminSystems}/ZZZZZ/approve`, headers: admin }),
        status: 404,
        code: 'not-found',
      },
      { name: 'unknown route', req: () => ({ method: 'GET', path: '/v1/nothing' }), status: 404, code: 'not-found' },
      {
        name: 'wrong method',
        req: () => ({ method: 'DELETE', path: CONTROL_PATHS.enrol }),
        status: 405,
        code: 'bad-request',
      },
    ];
    for (const tc of cases) {
      await t.test(tc.name, async () => {
        await tc.before?.();
        const before = await snapshot(c);
        const r = await raw(c, tc.req());
        assert.equal(r.status, tc.status, JSON.stringify(r.body));
        assert.equal(r.body.error.code, tc.code, r.body.error.message);
        assert.ok(r.body.error.message.length > 10, 'the message explains');
        assert.equal(await snapshot(c), before, 'the request changed state');
      });
    }

    await t.test('a replayed signed request is refused the second time', async () => {
      offset = 0;
      const req = signed('GET', CONTROL_PATHS.map);
      assert.equal((await raw(c, req)).status, 200);
      const before = await snapshot(c);
      const again = await raw(c, req);
      assert.deepEqual([again.status, again.body.error.code], [401, 'replay']);
      assert.equal(await snapshot(c), before);
    });

    await t.test('a refused policy file reports line and column and keeps the old policy', async () => {
      const r = await c.admin<{ error: { code: string }; issues: { line: number; column: number; key: string }[] }>(
        'PUT',
        '/v1/admin/policy',
        '{"Tags":["dev"],\n "Policies": 5}',
      );
      assert.equal(r.status, 422);
      assert.deepEqual(
        r.body.issues.map((i) => [i.line, i.column, i.key]),
        [[2, 2, 'Policies']],
      );
      assert.equal((await c.admin<{ text: string }>('GET', '/v1/admin/policy')).body.text, '{"Tags":["dev"]}');
    });
  } finally {
    await c.dispose();
  }
});
