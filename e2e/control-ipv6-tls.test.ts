// The control plane over https on an IPv6-only underlay (docs/coordinator.md): the coordinator
// serves https on [2001:db8:100::100] alone (a certificate for that address, trusted through
// NODE_EXTRA_CA_CERTS), and a helper in an IPv6-only namespace enrols at https://[v6]:8080 with
// the coordinator key pinned, waits for approval, and gets its map and each later change over
// its watch stream on that address.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, waitUntil } from './netns/index.js';
import { LAB6, NatLab, type LabHost } from './netns/nat-lab.js';

describeE2E(
  'https enrolment and agent traffic over an IPv6-only underlay',
  { warren: true, binaries: ['curl', 'openssl'] },
  { timeout: 180_000 },
  () => {
    let topo: Topology;
    let lab: NatLab;
    let h: LabHost;

    before(async () => {
      topo = Topology.create();
      const cert = topo.file('cert.pem');
      const key = topo.file('key.pem');
      const made = spawnSync(
        'openssl',
        ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1'].concat([
          '-subj',
          `/CN=${LAB6.coordIp}`,
          '-addext',
          `subjectAltName=IP:${LAB6.coordIp}`,
          '-keyout',
          key,
          '-out',
          cert,
        ]),
        { encoding: 'utf8' },
      );
      assert.equal(made.status, 0, made.stderr);
      lab = new NatLab(topo, 6);
      await lab.start([], { tls: { cert, key } });
      h = await lab.addPublicHost('t6');
    });
    after(async () => {
      await lab?.stop();
      await topo?.destroy();
    });

    test('a helper enrols at https://[v6]:port with the pinned key, is approved, and a later change (a new tag) reaches it', async () => {
      assert.equal(lab.url, `https://[${LAB6.coordIp}]:8080`);
      const k = await lab.coordinatorCli(['keys', 'create', '--tags', 'lab', '--approval', 'gated', '--json']);
      assert.equal(k.code, 0, k.stderr);
      // enrolAndStart gives --coordinator-key (`warren-coordinator key`): the key is pinned.
      const w = await lab.enrolAndStart(h, (JSON.parse(k.stdout) as { key: string }).key);
      const pending = await waitUntil(
        'the helper hears it is pending',
        async () => ((await w.status()).coordinator?.state === 'pending' ? true : undefined),
        20_000,
        250,
      );
      assert.ok(pending);
      const ok = await lab.coordinatorCli(['systems', 'approve', h.identity!]);
      assert.equal(ok.code, 0, ok.stderr);
      const first = await waitUntil(
        'the approved helper gets its map',
        async () => {
          const c = (await w.status()).coordinator;
          return c?.state === 'active' && c.reachable && c.mapVersion > 0 ? c : undefined;
        },
        20_000,
        250,
      );
      assert.equal(first.url, lab.url);
      // A change anywhere bumps every map: a new tag for this system.
      const tag = await lab.coordinatorCli(['systems', 'tag', h.identity!, '--add', 'v6tls']);
      assert.equal(tag.code, 0, tag.stderr);
      const next = await waitUntil(
        'the change reaches the helper',
        async () => {
          const c = (await w.status()).coordinator;
          return c !== undefined && c.mapVersion > first.mapVersion ? c : undefined;
        },
        20_000,
        250,
      );
      assert.equal(next.lastError, null);
      // The coordinator saw the helper come from its IPv6 address.
      const show = await lab.coordinatorCli(['systems', 'show', h.identity!, '--json']);
      assert.equal(show.code, 0, show.stderr);
      assert.equal((JSON.parse(show.stdout) as { observedIp: string }).observedIp, h.lanIp);
    });
  },
);
