// warren-wg driven by the field's own tool: start `warren-wg NAME` in a namespace, configure
// it with wg(8), read it back with `wg show dump` and `wg showconf`, round-trip a config
// through `wg setconf`, pass traffic between two instances (one of whose interfaces is moved
// to another namespace after start), and check that it stops cleanly, removing its socket,
// when the interface is deleted or on SIGTERM, that a second instance on the same name is
// refused, and that its device takes the kernel's segmentation offload. Everything it creates
// is named wgu…, and removed even when a step fails.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import {
  Topology,
  describeE2E,
  genKeyPair,
  onPath,
  pairLayout,
  repoRoot,
  sleep,
  startWarren,
  waitUntil,
  warrenProfile,
} from './netns/index.js';

const SOCKET_DIR = '/var/run/wireguard';
const tag = process.pid.toString(36);
const namespaces: string[] = [];
const tmp = mkdtempSync(join(tmpdir(), 'wgu-e2e-'));
let counter = 0;

/** ifname makes a fresh interface name wgu<pid36><n>, unique across concurrent runs. */
const ifname = (): string => `wgu${tag}${(counter++).toString(36)}`.slice(0, 15);

function sh(ns: string | null, argv: string[], input?: string): { status: number; stdout: string; stderr: string } {
  const full = ns === null ? argv : ['ip', 'netns', 'exec', ns, ...argv];
  const r = spawnSync(full[0]!, full.slice(1), { encoding: 'utf8', input, timeout: 20_000 });
  return { status: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
}

function ok(ns: string | null, argv: string[], input?: string): string {
  const r = sh(ns, argv, input);
  assert.equal(r.status, 0, `${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

function addNs(short: string): string {
  const name = `wgu-${tag}-${short}`;
  execFileSync('ip', ['netns', 'add', name]);
  namespaces.push(name);
  ok(name, ['ip', 'link', 'set', 'lo', 'up']);
  return name;
}

const warrenWg = (): string => join(repoRoot(), 'bin', 'warren-wg');
const socketOf = (name: string): string => join(SOCKET_DIR, `${name}.sock`);

/** pidOf finds the detached warren-wg serving `name`. */
function pidOf(name: string): number | undefined {
  const r = sh(null, ['pgrep', '-f', `warren-wg ${name}$`]);
  const pid = Number(r.stdout.trim().split('\n')[0]);
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** start runs `warren-wg NAME` in ns; it returns once the parent exited 0 (device and socket exist). */
function start(ns: string, name: string): number {
  const r = sh(ns, [warrenWg(), name]);
  assert.equal(r.status, 0, `warren-wg ${name} failed: ${r.stderr}`);
  const pid = pidOf(name);
  assert.ok(pid !== undefined, 'the detached process runs');
  return pid;
}

const started: Array<{ pid: number; name: string }> = [];
after(() => {
  for (const { pid, name } of started) {
    if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(socketOf(name), { force: true });
  }
  for (const ns of namespaces) spawnSync('ip', ['netns', 'del', ns]);
  rmSync(tmp, { recursive: true, force: true });
});

function launch(ns: string): { name: string; pid: number } {
  const name = ifname();
  const pid = start(ns, name);
  started.push({ pid, name });
  return { name, pid };
}

const genkey = (): string => ok(null, ['wg', 'genkey']).trim();
const pubkey = (priv: string): string => ok(null, ['wg', 'pubkey'], `${priv}\n`).trim();
const keyFile = (key: string): string => {
  const path = join(tmp, `k${counter++}`);
  writeFileSync(path, `${key}\n`, { mode: 0o600 });
  return path;
};

describeE2E('warren-wg', { binaries: ['wg', 'pgrep', 'ping'] }, { timeout: 120_000 }, () => {
  test('wg set configures it, wg show dump shows exactly that, and showconf round-trips through setconf', () => {
    const ns = addNs('a');
    const { name } = launch(ns);
    const st = statSync(socketOf(name));
    assert.ok(st.isSocket());
    assert.equal(st.mode & 0o777, 0o600);
    assert.equal(st.uid, 0);
    const priv = genkey();
    const peer = pubkey(genkey());
    const psk = ok(null, ['wg', 'genpsk']).trim();
    ok(ns, [
      'wg', 'set', name,
      'private-key', keyFile(priv),
      'listen-port', '51999',
      'fwmark', '0x1234',
      'peer', peer,
      'preshared-key', keyFile(psk),
      'endpoint', '192.0.2.7:51820',
      'allowed-ips', '10.7.0.0/16,10.8.0.1/32',
      'persistent-keepalive', '25',
    ]); // prettier-ignore
    const dump = ok(ns, ['wg', 'show', name, 'dump']).trim().split('\n');
    assert.deepEqual(dump, [
      [priv, pubkey(priv), '51999', '0x1234'].join('\t'),
      // No route to 192.0.2.7 in this namespace: nothing is sent or received.
      [peer, psk, '192.0.2.7:51820', '10.7.0.0/16,10.8.0.1/32', '0', '0', '0', '25'].join('\t'),
    ]);
    const conf = ok(ns, ['wg', 'showconf', name]);
    // The copy runs in another namespace, where its listen port is free.
    const other = addNs('a2');
    const second = launch(other).name;
    const confPath = join(tmp, 'round.conf');
    writeFileSync(confPath, conf);
    ok(other, ['wg', 'setconf', second, confPath]);
    assert.equal(ok(other, ['wg', 'showconf', second]), conf);
    ok(other, ['wg', 'set', second, 'peer', peer, 'remove']);
    assert.equal(ok(other, ['wg', 'show', second, 'peers']).trim(), '');
  });

  test('allowed IPs and endpoints of both families are taken; a link-local endpoint is refused with "Invalid argument" and changes nothing', () => {
    const ns = addNs('b');
    const { name } = launch(ns);
    const peer = pubkey(genkey());
    ok(ns, ['wg', 'set', name, 'peer', peer, 'allowed-ips', '10.0.0.0/8,fd00::/64', 'endpoint', '[2001:db8::1]:51820']);
    assert.equal(ok(ns, ['wg', 'show', name, 'allowed-ips']).trim(), `${peer}\t10.0.0.0/8 fd00::/64`);
    assert.equal(ok(ns, ['wg', 'show', name, 'endpoints']).trim(), `${peer}\t[2001:db8::1]:51820`);
    // No scope id travels with an endpoint, so a link-local one could not be sent to.
    const r = sh(ns, ['wg', 'set', name, 'peer', peer, 'endpoint', '[fe80::1]:51820', 'allowed-ips', '10.1.0.0/16']);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /Invalid argument/);
    assert.equal(ok(ns, ['wg', 'show', name, 'allowed-ips']).trim(), `${peer}\t10.0.0.0/8 fd00::/64`);
    assert.equal(ok(ns, ['wg', 'show', name, 'endpoints']).trim(), `${peer}\t[2001:db8::1]:51820`);
  });

  test('ip link del makes it exit and remove its socket; so does SIGTERM', async () => {
    const ns = addNs('c');
    const a = launch(ns);
    ok(ns, ['ip', 'link', 'del', a.name]);
    await waitUntil('warren-wg to exit after ip link del', () => (alive(a.pid) ? undefined : true), 5000);
    assert.equal(existsSync(socketOf(a.name)), false);
    const b = launch(ns);
    process.kill(b.pid, 'SIGTERM');
    await waitUntil('warren-wg to exit on SIGTERM', () => (alive(b.pid) ? undefined : true), 5000);
    assert.equal(existsSync(socketOf(b.name)), false);
    assert.equal(sh(ns, ['ip', 'link', 'show', b.name]).status === 0, false, 'the interface went with it');
  });

  test('its device takes TCP segmentation offload from the kernel, and not with WARREN_TUN_OFFLOAD=off', async (t) => {
    if (!onPath('ethtool')) return t.skip('ethtool is not installed');
    const ns = addNs('o');
    const tso = (name: string): string | undefined =>
      /^tcp-segmentation-offload: (on|off)/m.exec(ok(ns, ['ethtool', '-k', name]))?.[1];
    const on = launch(ns);
    assert.equal(tso(on.name), 'on');
    process.env.WARREN_TUN_OFFLOAD = 'off';
    try {
      const off = launch(ns);
      assert.equal(tso(off.name), 'off');
    } finally {
      delete process.env.WARREN_TUN_OFFLOAD;
    }
  });

  test('a second warren-wg on the same name fails with a message and leaves the first alone', () => {
    const ns = addNs('d');
    const a = launch(ns);
    const r = sh(ns, [warrenWg(), a.name]);
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /is in use by another program/);
    assert.ok(alive(a.pid));
    assert.equal(sh(ns, ['wg', 'show', a.name]).status, 0);
  });

  test('two instances pass traffic, also after one interface moved to another namespace', async () => {
    const [na, nb, nc] = [addNs('e'), addNs('f'), addNs('g')];
    ok(null, ['ip', 'link', 'add', `wgu${tag}va`, 'netns', na, 'type', 'veth', 'peer', `wgu${tag}vb`, 'netns', nb]);
    ok(na, ['ip', 'addr', 'add', '192.0.2.1/24', 'dev', `wgu${tag}va`]);
    ok(nb, ['ip', 'addr', 'add', '192.0.2.2/24', 'dev', `wgu${tag}vb`]);
    ok(na, ['ip', 'link', 'set', `wgu${tag}va`, 'up']);
    ok(nb, ['ip', 'link', 'set', `wgu${tag}vb`, 'up']);
    const a = launch(na);
    const b = launch(nb);
    const [ka, kb] = [genkey(), genkey()];
    ok(na, ['wg', 'set', a.name, 'private-key', keyFile(ka), 'listen-port', '51820',
      'peer', pubkey(kb), 'allowed-ips', '10.99.0.2/32', 'endpoint', '192.0.2.2:51820']); // prettier-ignore
    ok(nb, ['wg', 'set', b.name, 'private-key', keyFile(kb), 'listen-port', '51820',
      'peer', pubkey(ka), 'allowed-ips', '10.99.0.1/32']); // prettier-ignore
    // a's interface moves to c after start; its process and UDP socket stay in a.
    ok(na, ['ip', 'link', 'set', a.name, 'netns', nc]);
    for (const [ns, n, addr] of [
      [nc, a.name, '10.99.0.1'],
      [nb, b.name, '10.99.0.2'],
    ] as const) {
      ok(ns, ['ip', 'addr', 'add', `${addr}/24`, 'dev', n]);
      ok(ns, ['ip', 'link', 'set', n, 'mtu', '1420', 'up']);
    }
    const r = sh(nc, ['ping', '-c', '3', '-i', '0.2', '-W', '2', '10.99.0.2']);
    assert.equal(r.status, 0, `ping through the tunnel failed: ${r.stdout}${r.stderr}`);
    const dump = ok(na, ['wg', 'show', a.name, 'latest-handshakes']).trim().split('\t');
    assert.ok(Number(dump[1]) > Date.now() / 1000 - 60, `a recent handshake: ${dump[1]}`);
    // A large MTU set after start: a 9000-byte ping crosses whole.
    ok(nc, ['ip', 'link', 'set', a.name, 'mtu', '9000']);
    ok(nb, ['ip', 'link', 'set', b.name, 'mtu', '9000']);
    await sleep(1200);
    const big = sh(nc, ['ping', '-c', '2', '-M', 'do', '-s', '8972', '-W', '2', '10.99.0.2']);
    assert.equal(big.status, 0, `a 9000-byte ping failed: ${big.stdout}${big.stderr}`);
  });
});

describeE2E('the helper through wg(8)', { warren: true, binaries: ['wg', 'ping'] }, { timeout: 120_000 }, () => {
  test('wg show dump reads a running helper, and wg set is refused without changing it', async () => {
    const topo = Topology.create();
    try {
      const l = await pairLayout(topo);
      const [ka, kb] = [genKeyPair(), genKeyPair()];
      const adapter = topo.ifname('w');
      const peer = { publicKey: kb.publicKey, allowedIps: ['100.64.0.2/32'], endpoint: `${l.bIp}:51820` };
      const profile = { keys: ka, listenPort: 51820, virtualAddress: '100.64.0.1', adapter, peers: [peer] };
      const warren = await startWarren(l.a, warrenProfile(profile));
      const uapi = await warren.ns.exec(['wg', 'show', adapter, 'dump']);
      const [iface, peerLine] = uapi.stdout.trim().split('\n');
      assert.equal(iface, [ka.privateKey, ka.publicKey, '51820', 'off'].join('\t'));
      assert.deepEqual(peerLine!.split('\t').slice(0, 4), [kb.publicKey, '(none)', `${l.bIp}:51820`, '100.64.0.2/32']);
      const set = await warren.ns.exec(['wg', 'set', adapter, 'peer', kb.publicKey, 'remove'], { allowFailure: true });
      assert.notEqual(set.code, 0);
      assert.match(set.stderr, /Operation not permitted/);
      const again = await warren.ns.exec(['wg', 'show', adapter, 'peers']);
      assert.equal(again.stdout.trim(), kb.publicKey, 'the refused set changed nothing');
    } finally {
      await topo.destroy();
    }
  });
});
