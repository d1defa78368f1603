// Exit node (subnet routes): a client, a second client without a grant, an exit node,
// and a "printer" on the exit node's LAN with no Warren. The client reaches the printer through
// the exit node (the printer sees the exit node's LAN address), the printer cannot start
// anything towards the overlay, the ungranted client is refused at the exit node, the route can
// be switched off and on at run time, and nothing of the exit node's remains after it stops.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  ping,
  sleep,
  startWarren,
  tcpTransfer,
  waitForPing,
  waitUntil,
  type KeyPair,
  type Namespace,
  type Warren,
} from './netns/index.js';
import { warrenCli } from './netns/warren.js';
import { nodeScript } from './netns/node-script.js';
import { identityFromPublicKey } from '../src-shared/lib/identity.js';
import { DROP_COMMENT, exitTableName } from '../helper/src/exitnode/nft.js';

const identityOf = (publicKey: string): string => identityFromPublicKey(Buffer.from(publicKey, 'base64'));

const MB = 1024 * 1024;
const LAN = '198.51.100.0/24';
const EXIT_LAN_IP = '198.51.100.1';
const PRINTER = '198.51.100.10';
const LOCAL_NET = '203.0.113.0/24';
const CLASHING_ROUTE = '203.0.113.128/25';

interface Host {
  key: KeyPair;
  vip: string;
  ip: string;
  ns?: Namespace;
  w?: Warren;
}

describeE2E('exit node for a subnet', { warren: true, binaries: ['ping', 'nft'] }, { timeout: 240_000 }, () => {
  let topo: Topology;
  let printer: Namespace;
  const exit: Host = { key: genKeyPair(), vip: '100.64.0.10', ip: '192.0.2.10' };
  const client: Host = { key: genKeyPair(), vip: '100.64.0.1', ip: '192.0.2.1' };
  const other: Host = { key: genKeyPair(), vip: '100.64.0.2', ip: '192.0.2.2' };
  const exitId = identityOf(exit.key.publicKey);

  const peer = (h: Host, name: string, extra: object = {}) => ({
    Name: name,
    PublicKey: h.key.publicKey,
    Endpoint: `${h.ip}:51820`,
    AllowedIPs: [`${h.vip}/32`],
    ...extra,
  });
  const clientProfile = (h: Host, tags: string[], extraRoutes: string[] = []) => ({
    PrivateKey: h.key.privateKey,
    ListenPort: 51820,
    VirtualAddress: h.vip,
    Adapter: { Name: topo.ifname('w') },
    Tags: tags,
    Peers: [peer(exit, 'exit', { Tags: ['exit'] })],
    ExitNode: { AvailableRoutes: { [exitId]: [LAN, ...extraRoutes] } },
  });

  before(async () => {
    topo = Topology.create();
    const sw = await topo.addSwitch('sw');
    let clientIf = '';
    for (const h of [exit, client, other]) {
      h.ns = await topo.addNamespace(h === exit ? 'exit' : h === client ? 'cl' : 'ot');
      const l = await topo.attach(h.ns, sw, `${h.ip}/24`);
      if (h === client) clientIf = l.aIf;
    }
    // A local network of the client's that one of its exit routes overlaps.
    await client.ns!.exec(['ip', 'route', 'add', LOCAL_NET, 'dev', clientIf]);
    printer = await topo.addNamespace('prn');
    await topo.link(exit.ns!, printer, `${EXIT_LAN_IP}/24`, `${PRINTER}/24`);
    // The printer knows how to reach the overlay (a LAN router would say so); it still must
    // not be able to start anything there.
    await printer.exec(['ip', 'route', 'add', '100.64.0.0/10', 'via', EXIT_LAN_IP]);
    exit.w = await startWarren(
      exit.ns!,
      {
        PrivateKey: exit.key.privateKey,
        ListenPort: 51820,
        VirtualAddress: exit.vip,
        Adapter: { Name: topo.ifname('w') },
        Tags: ['exit'],
        Policies: [
          {
            Name: 'laptops use the exit node',
            Senders: ['tag:laptop'],
            Receivers: ['tag:exit'],
            Acls: [{ Protocol: 'any' }],
          },
        ],
        Peers: [peer(client, 'client', { Tags: ['laptop'] }), peer(other, 'other')],
        ExitNode: { ProvidesRoutes: [LAN] },
      },
      { name: 'warren-exit' },
    );
    client.w = await startWarren(client.ns!, clientProfile(client, ['laptop'], [CLASHING_ROUTE]), {
      name: 'warren-client',
    });
    other.w = await startWarren(other.ns!, clientProfile(other, []), { name: 'warren-other' });
  });
  after(async () => {
    await topo?.destroy();
  });

  test('the exit node set up forwarding and its own nft table', async () => {
    const s = await exit.w!.status();
    assert.deepEqual(
      s.providesRoutes?.map((r) => [r.cidr, r.snatTo]),
      [[LAN, EXIT_LAN_IP]],
    );
    assert.equal((await exit.ns!.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '1');
    // The table of its own (helper/src/exitnode/nft.ts): exec fails if it does not exist.
    const table = (await exit.ns!.exec(['nft', 'list', 'table', 'inet', exitTableName(s.adapter)])).stdout;
    assert.match(
      table,
      new RegExp(
        `ip saddr 100\\.64\\.0\\.0/10 ip daddr ${LAN.replace(/\./g, '\\.')} oifname "\\S+" counter packets \\d+ bytes \\d+ snat ip to ${EXIT_LAN_IP.replace(/\./g, '\\.')}`,
      ),
      table,
    );
    assert.match(table, new RegExp(`drop comment "${DROP_COMMENT}"`), table);
    const c = await client.w!.status();
    assert.deepEqual(c.peers[0]?.exitNodeFor, [LAN, CLASHING_ROUTE]);
    assert.equal(c.peers[0]?.exitNodeInUse, true);
    assert.match((await client.ns!.exec(['ip', 'route', 'show', LAN])).stdout, /dev /);
  });

  test('an exit route that overlaps a local network is reported, not applied', async () => {
    const list = await warrenCli(client.ns!, ['exit-node', 'list', '--socket', client.w!.socket]);
    assert.equal(list.code, 0, list.stderr);
    assert.match(
      list.stdout,
      new RegExp(`not routed: ${CLASHING_ROUTE.replace(/\./g, '\\.')} overlaps ${LOCAL_NET.replace(/\./g, '\\.')}`),
    );
    assert.doesNotMatch((await client.ns!.exec(['ip', 'route', 'show', CLASHING_ROUTE])).stdout, /dev/);
  });

  test('the client pings the printer and moves TCP data to it; the printer sees the exit node', async () => {
    await waitForPing(client.ns!, PRINTER);
    assert.equal((await ping(client.ns!, PRINTER, { count: 5, interval: 0.05 })).received, 5);
    const t = await tcpTransfer(client.ns!, printer, PRINTER, 5 * MB);
    assert.equal(t.recvSha, t.sentSha);
    const server = printer.spawn([...nodeScript('tcp-probe'), 'serve', PRINTER, '9100'], { name: 'printer-9100' });
    await server.waitFor(/listening/, 10_000);
    const probe = client.ns!.spawn([...nodeScript('tcp-probe'), 'connect', PRINTER, '9100', '100'], {
      name: 'client-probe',
    });
    try {
      const m = await server.waitFor(/\{"peer":"([^"]*)"\}/, 10_000);
      assert.equal(m[1]!.replace('::ffff:', ''), EXIT_LAN_IP, "source NAT to the exit node's LAN address");
    } finally {
      await Promise.all([probe.stop(500), server.stop(500)]);
    }
  });

  test('UDP to the printer and back', async () => {
    const server = printer.spawn([...nodeScript('udp-echo'), 'serve', PRINTER, '5353'], { name: 'printer-udp' });
    try {
      await server.waitFor(/listening/, 10_000);
      const r = await client.ns!.exec([...nodeScript('udp-echo'), 'send', PRINTER, '5353', '200', '1000'], {
        timeoutMs: 20_000,
      });
      const result = JSON.parse(r.stdout.trim().split('\n').pop()!) as { sent: number; received: number };
      assert.ok(result.received >= 195, `UDP echoes: ${JSON.stringify(result)}`);
      const m = await server.waitFor(/\{"from":"([^"]*)"\}/, 1000);
      assert.equal(m[1], EXIT_LAN_IP);
    } finally {
      await server.stop(500);
    }
  });

  test('the printer cannot start traffic into the overlay, and it is counted', async () => {
    const r = await ping(printer, client.vip, { count: 3, interval: 0.2 });
    assert.equal(r.received, 0);
    await waitUntil(
      'the unsolicited drop counter',
      async () => {
        const s = await exit.w!.status();
        return (s.unsolicitedFromSubnets ?? 0) >= 3 ? true : undefined;
      },
      10_000,
    );
  });

  test('a client without a grant is refused at the exit node', async () => {
    const r = await ping(other.ns!, PRINTER, { count: 3, interval: 0.2 });
    assert.equal(r.received, 0);
    const s = await exit.w!.status();
    assert.ok((s.drops['no-policy-ingress'] ?? 0) >= 3, JSON.stringify(s.drops));
  });

  test('switching the exit node off removes the route at once; on brings it back', async () => {
    const off = await warrenCli(client.ns!, ['exit-node', 'use', exitId, 'off', '--socket', client.w!.socket]);
    assert.equal(off.code, 0, off.stderr);
    assert.equal((await client.ns!.exec(['ip', 'route', 'show', LAN])).stdout.trim(), '');
    const unreachable = await client.ns!.exec(['ping', '-n', '-c', '1', '-W', '1', PRINTER], { allowFailure: true });
    assert.notEqual(unreachable.code, 0, 'no route to the printer while the exit node is off');
    const on = await warrenCli(client.ns!, ['exit-node', 'use', exitId, 'on', '--socket', client.w!.socket]);
    assert.equal(on.code, 0, on.stderr);
    assert.match(on.stdout, /in use/);
    await waitForPing(client.ns!, PRINTER);
  });

  test('after the exit node stops, none of its rules, routes or sysctl changes remain', async () => {
    await exit.w!.stop();
    const tables = (await exit.ns!.exec(['nft', 'list', 'tables'])).stdout;
    assert.doesNotMatch(tables, /warren/);
    assert.equal((await exit.ns!.exec(['cat', '/proc/sys/net/ipv4/ip_forward'])).stdout.trim(), '0');
    await client.w!.stop();
    assert.equal((await client.ns!.exec(['ip', 'route', 'show', LAN])).stdout.trim(), '');
    await sleep(100);
  });
});
