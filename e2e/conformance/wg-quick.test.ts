// Conformance, wg-quick(8): with no WireGuard kernel module, `wg-quick up` falls back to the
// userspace implementation named by WG_QUICK_USERSPACE_IMPLEMENTATION (run in daemon mode as
// `IMPL IFNAME`), then configures it with `wg setconf` and ip(8); `wg-quick down` deletes the
// interface, which must end the daemon and remove its socket. Two namespaces joined by a veth
// each bring up one end from a config file (Address with IPv4 and IPv6, ListenPort, one peer).
// The configs avoid DNS= (which needs resolvconf) and a default route (which needs nft or
// iptables and the src_valid_mark sysctl), so wg-quick needs only bash, iproute2 and wg.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { exec, genKeyPair, ping, waitForPing, waitUntil, type KeyPair, type Namespace } from '../netns/index.js';
import { SOCK_DIR, describeConformance, wgQuickUserspaceCommand } from './impl.js';
import { newTopology, wg } from './setup.js';

const UNDERLAY = ['192.0.2.1', '192.0.2.2'] as const;
const TUN4 = ['10.77.0.1', '10.77.0.2'] as const;
const TUN6 = ['fd77::1', 'fd77::2'] as const;
const LISTEN = 51820;

/** quickConfig is side i's wg-quick file; only side 0 knows an endpoint, so it initiates. */
function quickConfig(i: 0 | 1, me: KeyPair, peer: KeyPair): string {
  const j = 1 - i;
  return [
    '[Interface]',
    `Address = ${TUN4[i]}/24, ${TUN6[i]}/64`,
    `ListenPort = ${LISTEN}`,
    `PrivateKey = ${me.privateKey}`,
    '',
    '[Peer]',
    `PublicKey = ${peer.publicKey}`,
    `AllowedIPs = ${TUN4[j]}/32, ${TUN6[j]}/128`,
    ...(i === 0 ? [`Endpoint = ${UNDERLAY[1]}:${LISTEN}`] : []),
    '',
  ].join('\n');
}

/** addresses lists the global addresses of ifname in ns as CIDRs. */
async function addresses(ns: Namespace, ifname: string): Promise<string[]> {
  const out = (await ns.exec(['ip', '-j', 'addr', 'show', 'dev', ifname])).stdout;
  const j = JSON.parse(out) as { addr_info?: { local: string; prefixlen: number; scope: string }[] }[];
  return (j[0]?.addr_info ?? []).filter((a) => a.scope === 'global').map((a) => `${a.local}/${a.prefixlen}`);
}

describeConformance('conformance: wg-quick', ['wg-quick', 'ping', 'bash'], { timeout: 60_000 }, (impl) => {
  test('wg-quick up brings up addresses and a working peer; down removes interface, socket and daemon', async (t) => {
    const topo = newTopology();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      LOG_LEVEL: 'error',
      WG_QUICK_USERSPACE_IMPLEMENTATION: wgQuickUserspaceCommand(topo, impl),
    };
    try {
      const ns = [await topo.addNamespace('a'), await topo.addNamespace('b')] as const;
      await topo.link(ns[0], ns[1], `${UNDERLAY[0]}/24`, `${UNDERLAY[1]}/24`);
      const keys = [genKeyPair(), genKeyPair()] as const;
      // wg-quick names the interface after the file, so the file carries the run's prefix.
      const ifnames = [topo.ifname('q'), topo.ifname('q')] as const;
      const confs = ifnames.map((n, i) => topo.writeFile(`${n}.conf`, quickConfig(i as 0 | 1, keys[i]!, keys[1 - i]!)));
      for (const i of [0, 1] as const) {
        const r = await ns[i].exec(['wg-quick', 'up', confs[i]!], { env, allowFailure: true });
        assert.equal(r.code, 0, `wg-quick up ${confs[i]}:\n${r.stderr}`);
        assert.ok(existsSync(join(SOCK_DIR, `${ifnames[i]}.sock`)), 'no UAPI socket after wg-quick up');
        assert.deepEqual((await addresses(ns[i], ifnames[i])).sort(), [`${TUN4[i]}/24`, `${TUN6[i]}/64`].sort());
        const shown = await wg(ns[i], ['show', ifnames[i], 'listen-port']);
        assert.equal(shown.trim(), String(LISTEN));
      }
      t.diagnostic(`wg-quick ran ${env.WG_QUICK_USERSPACE_IMPLEMENTATION} ${ifnames[0]}`);

      await waitForPing(ns[0], TUN4[1]);
      for (const [from, dst] of [
        [ns[0], TUN4[1]],
        [ns[1], TUN4[0]],
        [ns[0], TUN6[1]],
        [ns[1], TUN6[0]],
      ] as const) {
        const r = await ping(from, dst, { count: 3, interval: 0.05 });
        assert.equal(r.received, 3, `ping ${dst}: ${JSON.stringify(r)}`);
      }

      for (const i of [0, 1] as const) {
        const r = await ns[i].exec(['wg-quick', 'down', confs[i]!], { env, allowFailure: true });
        assert.equal(r.code, 0, `wg-quick down ${confs[i]}:\n${r.stderr}`);
        const link = await ns[i].exec(['ip', 'link', 'show', 'dev', ifnames[i]], { allowFailure: true });
        assert.notEqual(link.code, 0, `${ifnames[i]} still exists after wg-quick down`);
        const sock = join(SOCK_DIR, `${ifnames[i]}.sock`);
        await waitUntil(`${sock} to be removed`, () => (existsSync(sock) ? undefined : true), 5000, 50);
        // The daemon was the only process in the namespace (asked from outside it).
        const nsName = ns[i].name;
        await waitUntil(`the daemon in ${nsName} to exit`, async () =>
          (await exec(['ip', 'netns', 'pids', nsName])).stdout.trim() === '' ? true : undefined,
        );
      }
    } finally {
      await topo.destroy();
    }
  });
});
