// Connections across a helper restart: A (tag dev) and B (tag server) with the policy
// "dev → server: tcp/5201". A checksummed TCP transfer from A to B:5201 survives `kill -9` and
// a restart of either helper and completes with every byte: the new helper's empty flow table
// picks the connection up mid-stream from a segment whose sender policy lets start it (A's data
// on A, A's data arriving at B). A connection that policy forbids after the restart (B to
// A:5201, allowed only before it) is not picked up from B's segments.
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  pairLayout,
  sleep,
  startWarren,
  tcpTransfer,
  waitForPing,
  waitUntil,
  warrenCli,
  type KeyPair,
  type Namespace,
  type TrackedProcess,
  type Warren,
} from './netns/index.js';
import { nodeScript } from './netns/node-script.js';

const PORT = 5201;
const FORWARD = {
  Name: 'dev to server',
  Senders: ['tag:dev'],
  Receivers: ['tag:server'],
  Acls: [{ Protocol: 'tcp', Ports: String(PORT) }, { Protocol: 'icmp' }],
};
const BACK = { Name: 'server to dev', Senders: ['tag:server'], Receivers: ['tag:dev'], Acls: FORWARD.Acls };
// After the restart B may still start something towards A, just not this connection: its
// segments are judged by the pickup rule rather than refused for want of any policy.
const BACK_ELSEWHERE = { ...BACK, Name: 'server to dev: another port', Acls: [{ Protocol: 'tcp', Ports: '5202' }] };
// Tens of MB, paced so that the transfer is still running when a helper is killed.
const BYTES = 32 * 1024 * 1024;
const RATE = 3 * 1024 * 1024;
const KILL_AFTER = 6 * 1024 * 1024;

interface Host {
  key: KeyPair;
  vip: string;
  ip: string;
  tags: string[];
  ns?: Namespace;
  w?: Warren;
  adapter?: string;
}

describeE2E('connections across a helper restart', { warren: true, binaries: ['ping'] }, { timeout: 400_000 }, () => {
  let topo: Topology;
  const hosts: Record<'a' | 'b', Host> = {
    a: { key: genKeyPair(), vip: '100.64.0.1', ip: '192.0.2.1', tags: ['dev'] },
    b: { key: genKeyPair(), vip: '100.64.0.2', ip: '192.0.2.2', tags: ['server'] },
  };
  const name = (h: 'a' | 'b'): string => `warren-${h}`;

  const profileOf = (self: 'a' | 'b', policies: unknown[]): object => {
    const other = self === 'a' ? 'b' : 'a';
    return {
      PrivateKey: hosts[self].key.privateKey,
      ListenPort: 51820,
      VirtualAddress: hosts[self].vip,
      Adapter: { Name: hosts[self].adapter },
      Tags: hosts[self].tags,
      Policies: policies,
      Peers: [
        {
          Name: other,
          PublicKey: hosts[other].key.publicKey,
          Endpoint: `${hosts[other].ip}:51820`,
          AllowedIPs: [`${hosts[other].vip}/32`],
          Tags: hosts[other].tags,
        },
      ],
    };
  };

  // restart kills a helper with SIGKILL (no cleanup, no goodbye to the peer) and starts a new
  // one with the given policies, as a crash followed by a supervisor's restart would.
  const restart = async (h: 'a' | 'b', policies: unknown[]): Promise<void> => {
    const old = hosts[h].w!;
    old.proc.signal('SIGKILL');
    await old.proc.exited;
    hosts[h].w = await startWarren(hosts[h].ns!, profileOf(h, policies), { name: name(h) });
    assert.notEqual(hosts[h].w!.pid, old.pid);
  };

  const reload = async (h: 'a' | 'b', policies: unknown[]): Promise<void> => {
    writeFileSync(hosts[h].w!.profilePath, JSON.stringify(profileOf(h, policies), null, 2));
    const r = await warrenCli(hosts[h].ns!, ['reload', '--socket', hosts[h].w!.socket]);
    assert.equal(r.code, 0, `reload ${h}: ${r.stderr}`);
  };

  before(async () => {
    topo = Topology.create();
    const l = await pairLayout(topo);
    for (const [h, ns] of [
      ['a', l.a],
      ['b', l.b],
    ] as const) {
      hosts[h].ns = ns;
      hosts[h].adapter = topo.ifname('w');
      // `ip netns exec` bind-mounts this file over /etc/resolv.conf, so the helper's split DNS
      // edits stay inside the test's namespace (the topology removes it with the namespace).
      const dir = `/etc/netns/${ns.name}`;
      mkdirSync(dir, { recursive: true });
      writeFileSync(`${dir}/resolv.conf`, 'nameserver 127.0.0.53\n');
    }
    for (const h of ['a', 'b'] as const) {
      hosts[h].w = await startWarren(hosts[h].ns!, profileOf(h, [FORWARD]), { name: name(h) });
    }
    await waitForPing(hosts.a.ns!, hosts.b.vip);
  });
  after(async () => {
    await topo?.destroy();
  });

  for (const killed of ['a', 'b'] as const) {
    test(`a checksummed transfer from A to B survives kill -9 and a restart of ${killed.toUpperCase()}'s helper`, async (t) => {
      let restarted: Promise<void> | undefined;
      let sentAtKill = -1;
      const started = Date.now();
      const r = await tcpTransfer(hosts.a.ns!, hosts.b.ns!, hosts.b.vip, BYTES, {
        port: PORT,
        rateBytesPerSec: RATE,
        timeoutMs: 240_000,
        onProgress: (sent) => {
          if (restarted !== undefined || sent < KILL_AFTER) return;
          sentAtKill = sent;
          restarted = restart(killed, [FORWARD]);
        },
      });
      assert.ok(restarted !== undefined, 'the helper was killed during the transfer');
      await restarted;
      t.diagnostic(
        `killed ${killed} after ${sentAtKill} bytes handed to the socket; ${r.recvBytes} bytes in ` +
          `${((Date.now() - started) / 1000).toFixed(1)} s`,
      );
      // What was sent by then is at most the socket's buffers ahead of what arrived, far less than
      // the rest of the transfer: most of the bytes crossed the restarted helper.
      assert.ok(sentAtKill < BYTES / 2, `killed mid-transfer (${sentAtKill} of ${BYTES} bytes handed over)`);
      assert.equal(r.sentBytes, BYTES);
      assert.equal(r.recvBytes, BYTES, 'every byte arrived');
      assert.equal(r.recvSha, r.sentSha, 'the bytes arrived intact and in order');
      const st = await hosts[killed].w!.status();
      t.diagnostic(`${killed} after the restart: drops ${JSON.stringify(st.drops)}`);
    });
  }

  test('a connection policy forbids after the restart is not picked up', async (t) => {
    // B may start connections to A:5201 until A restarts with B allowed only A:5202.
    await reload('a', [FORWARD, BACK]);
    await reload('b', [FORWARD, BACK]);
    const server = hosts.a.ns!.spawn([...nodeScript('tcp-probe'), 'serve', hosts.a.vip, String(PORT)], {
      name: `echo-a-${Date.now()}`,
    });
    let client: TrackedProcess | undefined;
    const echoes: number[] = [];
    try {
      await server.waitFor(/listening/, 10_000);
      client = hosts.b.ns!.spawn([...nodeScript('tcp-probe'), 'connect', hosts.a.vip, String(PORT), '50'], {
        name: `probe-b-${Date.now()}`,
      });
      client.onLine((l) => {
        if (l.startsWith('{"echo"')) echoes.push((JSON.parse(l) as { echo: number }).echo);
      });
      await waitUntil('echoes before the restart', () => (echoes.length >= 5 ? true : undefined), 15_000);
      await restart('a', [FORWARD, BACK_ELSEWHERE]);
      const restartedAt = Date.now();
      // B's helper keeps sending with its old session until it gives up on it (no answer for
      // 15 s) and shakes hands with the new helper; from then on B's retransmitted segments reach
      // A's firewall, which must drop them (B may not start a connection to A:5201 any more)
      // rather than pick the connection up.
      await waitUntil(
        "B's segments of the forbidden connection dropped by the new helper",
        async () => (((await hosts.a.w!.status()).drops['tcp-not-syn'] ?? 0) >= 1 ? true : undefined),
        90_000,
        500,
      );
      await sleep(3000);
      const sa = await hosts.a.w!.status();
      t.diagnostic(`A after the restart: drops ${JSON.stringify(sa.drops)}`);
      const late = echoes.filter((e) => e > restartedAt);
      assert.deepEqual(late, [], 'no echo crossed the restarted helper');
      // The tunnel itself works: what policy allows still passes.
      await waitForPing(hosts.a.ns!, hosts.b.vip);
    } finally {
      await Promise.all([client?.stop(500), server.stop(500)]);
    }
  });
});
