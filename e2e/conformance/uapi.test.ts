// Conformance, the userspace API and the process's life cycle, driven by wg(8) and ip(8):
// - large configurations that need split responses, as in the last steps of the Linux kernel's
//   tools/testing/selftests/wireguard/netns.sh and wireguard-go's tests/netns.sh: one peer with
//   255 x 256 IPv4 /16s and as many IPv6 /128s (130,560 allowed IPs), then 40 peers with 52
//   allowed IPs each, then 30 peers of which only the last has allowed IPs, read back whole;
// - `wg show` of an interface that does not exist fails (the same scripts' last check);
// - the process and its UAPI socket go away when the interface is deleted (also after the
//   device was moved to another namespace), on SIGTERM, and in daemon mode (no -f).
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { test, type TestContext } from 'node:test';
import { exec, genKeyPair, waitUntil, type Namespace, type Topology } from '../netns/index.js';
import { SOCK_DIR, describeConformance, startDevice, type Device } from './impl.js';
import { newTopology, wg } from './setup.js';

/** allowedIpsByPeer parses `wg show IF allowed-ips`: one line per peer, key TAB space-separated. */
function allowedIpsByPeer(text: string): Map<string, string[]> {
  const m = new Map<string, string[]>();
  for (const line of text.split('\n')) {
    const [pub, ips] = line.split('\t');
    if (pub === undefined || pub === '' || ips === undefined) continue;
    m.set(pub, ips === '(none)' ? [] : ips.split(' ').filter((s) => s !== ''));
  }
  return m;
}

/** setconf writes config to a private file and applies it with `wg setconf`, returning ms. */
async function setconf(ns: Namespace, ifname: string, config: string[]): Promise<number> {
  const file = ns.topo.writeFile(`${ifname}.conf`, config.join('\n') + '\n');
  const t0 = Date.now();
  await wg(ns, ['setconf', ifname, file]);
  return Date.now() - t0;
}

/** gone waits until the process has exited and its socket and interface are gone. */
async function gone(ns: Namespace, dev: Device, why: string): Promise<void> {
  await waitUntil(`${dev.impl.name} to exit after ${why}`, () => (dev.proc.running ? undefined : true), 10_000, 50);
  await waitUntil(`${dev.sock} to be removed after ${why}`, () => (existsSync(dev.sock) ? undefined : true), 5000, 50);
  const show = await ns.exec(['ip', 'link', 'show', 'dev', dev.ifname], { allowFailure: true });
  assert.notEqual(show.code, 0, `${dev.ifname} still exists after ${why}`);
}

describeConformance('conformance: userspace API and life cycle', [], { timeout: 120_000 }, (impl) => {
  const withNs = (name: string, fn: (topo: Topology, ns0: Namespace, t: TestContext) => Promise<void>): void => {
    test(name, async (t) => {
      const topo = newTopology();
      try {
        await fn(topo, await topo.addNamespace('ns0'), t);
      } finally {
        await topo.destroy();
      }
    });
  };

  withNs('setconf of one peer with 130,560 allowed IPs reads back exactly', async (topo, ns0, t) => {
    const dev = await startDevice(ns0, topo.ifname('wg'), impl);
    const peer = genKeyPair().publicKey;
    const config = ['[Interface]', `PrivateKey = ${genKeyPair().privateKey}`, '[Peer]', `PublicKey = ${peer}`];
    const want = new Set<string>();
    for (let a = 1; a <= 255; a++) {
      for (let b = 0; b <= 255; b++) {
        // As the selftest writes them: the decimal numbers serve as hex groups of the IPv6
        // address, so `a::b` prints back the same, except `a::0`, which prints as `a::`.
        config.push(`AllowedIPs = ${a}.${b}.0.0/16, ${a}::${b}/128`);
        want.add(`${a}.${b}.0.0/16`).add(b === 0 ? `${a}::/128` : `${a}::${b}/128`);
      }
    }
    assert.equal(want.size, 130_560);
    const setMs = await setconf(ns0, dev.ifname, config);
    const t0 = Date.now();
    const shown = allowedIpsByPeer(await wg(ns0, ['show', dev.ifname, 'allowed-ips']));
    const showMs = Date.now() - t0;
    assert.deepEqual([...shown.keys()], [peer]);
    const got = shown.get(peer) ?? [];
    const gotSet = new Set(got);
    assert.equal(got.length, gotSet.size, 'an allowed IP is listed twice');
    const missing = [...want].filter((ip) => !gotSet.has(ip));
    const extra = got.filter((ip) => !want.has(ip));
    assert.deepEqual({ missing: missing.slice(0, 5), extra: extra.slice(0, 5) }, { missing: [], extra: [] });
    assert.equal(got.length, want.size);
    t.diagnostic(`setconf of 130,560 allowed IPs ${setMs} ms, read back by wg show ${showMs} ms`);
  });

  withNs('setconf of 40 peers with 52 allowed IPs each reads back per peer', async (topo, ns0) => {
    const dev = await startDevice(ns0, topo.ifname('wg'), impl);
    const config = ['[Interface]', `PrivateKey = ${genKeyPair().privateKey}`];
    const want = new Map<string, string[]>();
    for (let a = 1; a <= 40; a++) {
      const pub = genKeyPair().publicKey;
      const ips: string[] = [];
      for (let b = 1; b <= 52; b++) ips.push(`${a}.${b}.0.0/16`);
      config.push('[Peer]', `PublicKey = ${pub}`, ...ips.map((ip) => `AllowedIPs = ${ip}`));
      want.set(pub, ips);
    }
    await setconf(ns0, dev.ifname, config);
    const shown = allowedIpsByPeer(await wg(ns0, ['show', dev.ifname, 'allowed-ips']));
    assert.equal(shown.size, 40);
    for (const [pub, ips] of want) assert.deepEqual([...(shown.get(pub) ?? [])].sort(), [...ips].sort(), pub);
  });

  withNs('setconf of 30 peers, only the last with allowed IPs, shows back as a config', async (topo, ns0) => {
    const dev = await startDevice(ns0, topo.ifname('wg'), impl);
    const pubs = Array.from({ length: 30 }, () => genKeyPair().publicKey);
    const config = pubs.flatMap((pub) => ['[Peer]', `PublicKey = ${pub}`]);
    config.push('AllowedIPs = 255.2.3.4/32, abcd::255/128');
    await setconf(ns0, dev.ifname, config);
    const shown = await wg(ns0, ['showconf', dev.ifname]);
    const peers = [...shown.matchAll(/^PublicKey = (\S+)$/gm)].map((m) => m[1]);
    assert.deepEqual([...peers].sort(), [...pubs].sort());
    const ips = allowedIpsByPeer(await wg(ns0, ['show', dev.ifname, 'allowed-ips']));
    assert.deepEqual([...(ips.get(pubs[29]!) ?? [])].sort(), ['255.2.3.4/32', 'abcd::255/128']);
    for (const pub of pubs.slice(0, 29)) assert.deepEqual(ips.get(pub), [], pub);
  });

  withNs('wg show of a missing interface fails with a message', async (topo, ns0) => {
    const name = topo.ifname('none');
    const r = await ns0.exec(['wg', 'show', name], { allowFailure: true });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /Unable to access interface/);
    assert.equal(existsSync(`${SOCK_DIR}/${name}.sock`), false);
  });

  withNs('deleting a device moved to another namespace ends its process and removes its socket', async (topo, ns0) => {
    const ns1 = await topo.addNamespace('ns1');
    const dev = await startDevice(ns0, topo.ifname('wg'), impl);
    await ns0.exec(['ip', 'link', 'set', dev.ifname, 'netns', ns1.name]);
    await ns1.exec(['ip', 'link', 'set', dev.ifname, 'up']);
    assert.match(await wg(ns0, ['show', dev.ifname]), new RegExp(`interface: ${dev.ifname}`));
    await ns1.exec(['ip', 'link', 'del', dev.ifname]);
    await gone(ns1, dev, 'ip link del');
    assert.equal(dev.proc.exitSignal, null, 'the process was killed instead of exiting');
    const show = await ns0.exec(['wg', 'show', dev.ifname], { allowFailure: true });
    assert.notEqual(show.code, 0, 'wg show still answers for the deleted interface');
  });

  withNs('SIGTERM ends the process and removes its socket and interface', async (topo, ns0) => {
    const dev = await startDevice(ns0, topo.ifname('wg'), impl);
    dev.proc.signal('SIGTERM');
    await gone(ns0, dev, 'SIGTERM');
  });

  withNs(
    'without -f the command returns once the device and socket exist, and the daemon follows the link',
    async (topo, ns0) => {
      const ifname = topo.ifname('wg');
      const sock = `${SOCK_DIR}/${ifname}.sock`;
      const r = await ns0.exec([...impl.argv, ifname], { env: { ...process.env, LOG_LEVEL: 'error' } });
      assert.equal(r.code, 0);
      assert.ok(existsSync(sock), `${sock} missing when the command returned`);
      await ns0.exec(['ip', 'link', 'show', 'dev', ifname]);
      // The daemon is the only process left in the namespace (asked from outside it).
      const pids = async (): Promise<string> => (await exec(['ip', 'netns', 'pids', ns0.name])).stdout.trim();
      assert.notEqual(await pids(), '', 'no daemon left running in the namespace');
      await ns0.exec(['ip', 'link', 'del', ifname]);
      await waitUntil('the daemon to exit', async () => ((await pids()) === '' ? true : undefined));
      await waitUntil(`${sock} to be removed`, () => (existsSync(sock) ? undefined : true), 5000, 50);
    },
  );
});
