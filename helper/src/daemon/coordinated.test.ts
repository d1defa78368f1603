// A coordinated helper on in-memory fakes of the OS (testing.ts), started from a stored network
// map: the identities it uses are the ones the coordinator issued (control.ts EnrolResponse),
// this system's and its peers', never the ones their keys hash to.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import nacl from 'tweetnacl';
import { ApiClient } from '../../../src-shared/lib/helper-client/client.js';
import { CONTROL_PROTOCOL, type NetworkMap, type SignedMap } from '../../../src-shared/wire/control.js';
import { formatStatus } from '../cli/status-format.js';
import { signedMapBytes } from '../../../src-shared/lib/netmap/open.js';
import { storeMap } from '../control/store.js';
import { Daemon } from './index.js';
import { BETA, SELF, Sandbox, eventually, fakeEnv, staticProfile } from './testing.js';

const coordinator = nacl.sign.keyPair();
// Issued identities; the keys of SELF and BETA hash to others (checked below).
const MINE = 'ME123';
const BETAS = 'DB456';

function signed(m: NetworkMap): SignedMap {
  const payload = Buffer.from(JSON.stringify(m));
  const signature = Buffer.from(nacl.sign.detached(signedMapBytes(payload), coordinator.secretKey));
  return { payload: payload.toString('base64'), signature: signature.toString('base64') };
}

function networkMap(): NetworkMap {
  return {
    protocol: CONTROL_PROTOCOL,
    version: 3,
    generatedAt: 1,
    systemId: 'sys-1',
    self: {
      identity: MINE,
      name: 'me',
      virtualAddress: '100.64.0.1',
      tags: ['dev'],
      dnsNames: ['me'],
      providesRoutes: [],
    },
    virtualNetwork: '100.64.0.0/10',
    dnsZone: 'corp.internal',
    peers: [
      {
        identity: BETAS,
        name: 'beta',
        publicKey: BETA.pub,
        virtualAddress: '100.64.0.2',
        endpoints: ['192.0.2.2:51820'],
        tags: ['server'],
        dnsNames: ['beta'],
        providesRoutes: [],
        online: true,
      },
    ],
    policies: [
      {
        name: 'ssh to beta',
        senders: [MINE],
        receivers: [BETAS],
        acls: [{ protocol: 'tcp', ports: [{ from: 22, to: 22 }] }],
        trustRequirements: [],
        enabled: true,
      },
    ],
    routes: {},
    routeGrants: {},
  };
}

function coordinatedProfile(identity: string | undefined): Record<string, unknown> {
  const json = staticProfile({
    Dns: { Zone: 'corp.internal' },
    Coordinator: {
      // Nothing listens there: the helper runs on its stored map.
      Url: 'http://127.0.0.1:9',
      PublicKey: Buffer.from(coordinator.publicKey).toString('base64'),
      SystemId: 'sys-1',
      ...(identity === undefined ? {} : { Identity: identity }),
      MachineKey: randomBytes(32).toString('base64'),
    },
  });
  delete json.Peers;
  return json;
}

test("a coordinated helper uses the issued identities, its own and its peers', in status, why, DNS and the firewall", async (t) => {
  assert.notEqual(SELF.identity, MINE);
  assert.notEqual(BETA.identity, BETAS);
  const box = new Sandbox();
  storeMap(box.stateDir, signed(networkMap()));
  const d = new Daemon(box.options(coordinatedProfile(MINE)), fakeEnv());
  t.after(async () => {
    await d.stop();
    box.remove();
  });
  await d.start();
  const api = new ApiClient(box.socketPath);
  const status = await eventually(async () => {
    const s = await api.status();
    assert.equal(s.coordinator?.mapVersion, 3);
    return s;
  });
  assert.equal(status.identity, MINE);
  assert.deepEqual(
    status.peers.map((p) => [p.identity, p.publicKey]),
    [[BETAS, BETA.pub]],
  );
  const text = formatStatus(status, Date.now());
  assert.match(text, new RegExp(`Local identity: +${MINE}\\n`));
  assert.match(text, new RegExp(`Peer: ${BETAS} \\(beta\\)`));
  assert.doesNotMatch(text, new RegExp(`${SELF.identity}|${BETA.identity}`));

  // The firewall's selectors are the map's identities: the policy naming DB456 grants port 22.
  const why = await api.why(BETAS);
  assert.match(why.text, /ssh to beta/);
  assert.match(why.text, new RegExp(`${MINE} → ${BETAS} \\(this system starts\\)`));
  await assert.rejects(api.why(BETA.identity), /no configured peer matches/);

  const dns = d.state.dns!;
  assert.deepEqual(dns.resolve(`${BETAS.toLowerCase()}.id.corp.internal`), ['100.64.0.2']);
  assert.deepEqual(dns.resolve(`${MINE.toLowerCase()}.id.corp.internal`), ['100.64.0.1']);
  assert.deepEqual(dns.resolve(`${BETA.identity.toLowerCase()}.id.corp.internal`), []);
  assert.deepEqual(dns.resolve(`${SELF.identity.toLowerCase()}.id.corp.internal`), []);
});

test('before its first map a coordinated helper goes by the identity issued at enrolment', async (t) => {
  const box = new Sandbox();
  const d = new Daemon(box.options(coordinatedProfile(MINE)), fakeEnv());
  t.after(async () => {
    await d.stop();
    box.remove();
  });
  await d.start();
  const status = await new ApiClient(box.socketPath).status();
  assert.equal(status.coordinator?.mapVersion, 0);
  assert.equal(status.identity, MINE);
  assert.deepEqual(d.state.dns!.resolve(`${MINE.toLowerCase()}.id.corp.internal`), ['100.64.0.1']);
});
