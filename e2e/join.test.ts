// `warren up --coordinator URL --key KEY`: the one-step join, with a real coordinator and real
// helpers in namespaces. Two systems each run one command (one given its paths through
// WARREN_PROFILE / WARREN_STATE_DIR / WARREN_SOCKET) that enrols, starts `warren run` in the
// background and waits until connected; then they ping each other over the overlay. A system
// with a gated key shows the approve command and completes once an admin approves. Running
// the command again does not spend another use of a key. The helpers `warren up` started
// detached are stopped by their pid files, before the namespaces go.
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { Topology, describeE2E, waitForPing, waitUntil, warrenCli, type Namespace } from './netns/index.js';
import { startCoordinator, type Coordinator } from './netns/coordinated.js';
import { stopDetached } from './netns/detached.js';
import { readProfile } from '../helper/src/config/load.js';

const COORD_IP = '10.62.0.100';

/** Joiner is one system joining with `warren up`, and where its files go. */
interface Joiner {
  name: string;
  ns: Namespace;
  adapter: string;
  profile: string;
  stateDir: string;
  socket: string;
}

interface KeyRow {
  id: string;
  uses: number;
}

describeE2E('warren up --coordinator', { warren: true, binaries: ['curl', 'ping'] }, { timeout: 240_000 }, () => {
  let topo: Topology;
  let coord: Coordinator;
  let coordinatorKey: string;
  const joiners: Joiner[] = [];

  async function joiner(name: string, short: string, ip: string, sw: Awaited<ReturnType<Topology['addSwitch']>>) {
    const ns = await topo.addNamespace(short);
    await topo.attach(ns, sw, `${ip}/24`);
    const stateDir = topo.file(`${name}-state`);
    const j: Joiner = {
      name,
      ns,
      adapter: topo.ifname('j'),
      profile: topo.file(join(`${name}-etc`, `${name}.profile`)),
      stateDir,
      socket: topo.file(`${name}.sock`),
    };
    joiners.push(j);
    return j;
  }

  async function newKey(approval: 'automatic' | 'gated'): Promise<{ key: string; id: string }> {
    const out = await coord.cli(['keys', 'create', '--tags', 'dev', '--uses', '1', '--approval', approval, '--json']);
    return JSON.parse(out) as { key: string; id: string };
  }

  async function usesOf(id: string): Promise<number> {
    const list = JSON.parse(await coord.cli(['keys', 'list', '--json'])) as KeyRow[];
    const k = list.find((x) => x.id === id);
    assert.ok(k, `key ${id} in ${JSON.stringify(list)}`);
    return k.uses;
  }

  /** up runs `warren up --coordinator` for j; viaEnv gives the paths as environment variables. */
  async function up(j: Joiner, key: string, viaEnv = false) {
    const paths = ['--profile', j.profile, '--state-dir', j.stateDir, '--socket', j.socket];
    const env = { ...process.env, WARREN_PROFILE: j.profile, WARREN_STATE_DIR: j.stateDir, WARREN_SOCKET: j.socket };
    return warrenCli(
      j.ns,
      [
        ...['up', '--coordinator', coord.url, '--key', key, '--coordinator-key', coordinatorKey],
        ...['--adapter', j.adapter, '--hostname', j.name, '--port', '51820', '--timeout', '60'],
        ...(viaEnv ? [] : paths),
      ],
      { allowFailure: true, timeoutMs: 90_000, ...(viaEnv ? { env } : {}) },
    );
  }

  const vipOf = (j: Joiner): string => readProfile(j.profile).profile.virtualAddress;

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    const coordNs = await topo.addNamespace('jco');
    await topo.attach(coordNs, sw, `${COORD_IP}/24`);
    coord = await startCoordinator(coordNs, COORD_IP);
    coordinatorKey = (JSON.parse(await coord.cli(['key', '--json'])) as { publicKey: string }).publicKey;
    await coord.applyPolicy({
      Tags: ['dev'],
      Policies: [{ Name: 'devs', Senders: ['tag:dev'], Receivers: ['tag:dev'], Acls: [{ Protocol: 'icmp' }] }],
    });
    await joiner('alpha', 'ja', '10.62.0.1', sw);
    await joiner('beta', 'jb', '10.62.0.2', sw);
    await joiner('gamma', 'jc', '10.62.0.3', sw);
  });

  after(async () => {
    // The helpers were started detached by `warren up`: the topology does not track them.
    await Promise.all(joiners.map((j) => stopDetached(j.stateDir)));
    await coord?.stop();
    await topo?.destroy();
  });

  test('two systems join with one command each, wait until connected and ping each other', async () => {
    const [alpha, beta] = joiners as [Joiner, Joiner];
    const ka = await newKey('automatic');
    const kb = await newKey('automatic');
    const ra = await up(alpha, ka.key);
    assert.equal(ra.code, 0, ra.stdout + ra.stderr);
    const rb = await up(beta, kb.key, true);
    assert.equal(rb.code, 0, rb.stdout + rb.stderr);
    for (const [j, r] of [
      [alpha, ra],
      [beta, rb],
    ] as const) {
      const out = r.stdout;
      assert.match(out, new RegExp(`^warren up: enrolling with ${coord.url.replace(/[.]/g, '\\.')}\n`));
      assert.match(out, /\nwarren up: enrolled as [0-9A-Z]{5} \(sys-[0-9a-f]+\), 100\.[0-9.]+, tags dev\n/);
      assert.ok(out.includes(`started \`warren run\` in the background (pid `), out);
      assert.ok(out.includes(`log ${join(j.stateDir, 'helper.log')}`), out);
      assert.match(out, /\nwarren up: connected: [0-9A-Z]{5}, 100\.[0-9.]+/);
      assert.equal(readProfile(j.profile).profile.adapter.name, j.adapter, 'the adapter flag is in the profile');
      assert.equal(existsSync(j.socket), true, 'the helper serves the socket named by the flag or WARREN_SOCKET');
    }
    assert.equal(await usesOf(ka.id), 1);
    await waitForPing(alpha.ns, vipOf(beta), 20_000);
    await waitForPing(beta.ns, vipOf(alpha), 20_000);
  });

  test('a gated key shows the approve command, and the join completes after approval', async () => {
    const gamma = joiners[2]!;
    const k = await newKey('gated');
    const running = up(gamma, k.key);
    let identity = '';
    await waitUntil(
      'gamma waits for approval at the coordinator',
      async () => {
        const list = JSON.parse(await coord.cli(['systems', 'list', '--json'])) as Array<{
          name: string;
          identity: string;
          state: string;
        }>;
        const s = list.find((x) => x.name === 'gamma' && x.state === 'pending');
        identity = s?.identity ?? '';
        return s ? true : undefined;
      },
      30_000,
      300,
    );
    // Let `warren up` see the pending state before the approval.
    await waitUntil(
      'the helper reports pending approval',
      async () =>
        existsSync(gamma.socket) && (await statusCondition(gamma)) === 'pending-approval' ? true : undefined,
      30_000,
      200,
    );
    await new Promise((r) => setTimeout(r, 1500));
    await coord.cli(['systems', 'approve', identity]);
    const r = await running;
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const pendingAt = r.stdout.indexOf(
      `warren up: waiting for approval: an administrator runs \`warren-coordinator systems approve ${identity}\``,
    );
    assert.ok(pendingAt > 0, r.stdout);
    assert.match(r.stdout, new RegExp(`enrolled as ${identity} .*; waiting for approval\n`));
    assert.ok(r.stdout.indexOf('warren up: connected: ') > pendingAt, r.stdout);
    await waitForPing(gamma.ns, vipOf(joiners[0]!), 20_000);
  });

  test('running warren up --coordinator again does not spend another key use', async () => {
    const alpha = joiners[0]!;
    const k = await newKey('automatic');
    const profileBefore = readFileSync(alpha.profile, 'utf8');
    const r = await up(alpha, k.key);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /^warren up: already enrolled with .* the key is not used again/);
    assert.match(r.stdout, /the helper on .* already runs this profile/);
    assert.match(r.stdout, /warren up: connected: /);
    assert.doesNotMatch(r.stdout, /enrolling with/);
    assert.equal(await usesOf(k.id), 0, 'the second key was never used');
    assert.equal(readFileSync(alpha.profile, 'utf8'), profileBefore, 'the profile is unchanged');
  });
});

async function statusCondition(j: Joiner): Promise<string | undefined> {
  const r = await warrenCli(j.ns, ['status', '--json', '--socket', j.socket], { allowFailure: true });
  if (r.code !== 0) return undefined;
  return (JSON.parse(r.stdout) as { coordinator?: { condition?: string } }).coordinator?.condition;
}
