// Interoperability with Debian's wireguard-go: a NoiseCore in this process talks over a veth
// pair to wireguard-go running in a network namespace created here. Both directions of the
// handshake are exercised (with a preshared key), an ICMP echo crosses the tunnel each way,
// and wireguard-go consumes our cookie reply and comes back with a valid mac2. Needs root and
// wireguard-go; skipped with the reason otherwise. The namespace (and with it the veth pair
// and the tunnel interface), the wireguard-go process and the files are always removed.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NoiseCore, openTransport, sealTransport, MessageType, type NoisePeer } from './index.js';
import { formatKey, generatePrivateKey, publicKeyFromPrivate } from '../../../../src-shared/lib/keys.js';

const WG_GO = '/usr/bin/wireguard-go';
const skipReason =
  process.getuid?.() !== 0
    ? 'needs root (network namespaces)'
    : !existsSync(WG_GO)
      ? 'wireguard-go is not installed'
      : !existsSync('/dev/net/tun')
        ? '/dev/net/tun is missing'
        : null;

const tag = String(process.pid % 100000);
const ns = `wgnoise${tag}`;
const vethHost = `wnh${tag}`;
const vethNs = `wnn${tag}`;
const wgIf = `wgn${tag}`;
const octet = process.pid % 250;
const hostIp = `198.18.${octet}.1`;
const nsIp = `198.18.${octet}.2`;
const ourTunnelIp = [10, 99, 0, 1];
const theirTunnelIp = [10, 99, 0, 2];
const WG_PORT = 51820;

let tmp = '';
let wg: ChildProcess | null = null;
let sock: Socket | null = null;
let ticker: NodeJS.Timeout | null = null;
let core: NoiseCore;
let peer: NoisePeer;
let theirPrivate: Buffer;
const ourPrivate = generatePrivateKey();
const psk = generatePrivateKey();
let underLoad = false;
const drops: string[] = [];
let onPacket: ((ip: Buffer) => void) | null = null;
let onSession: (() => void) | null = null;

function sh(cmd: string, ...args: string[]): void {
  execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function now(): number {
  return performance.now();
}

function checksum(b: Buffer): number {
  let sum = 0;
  for (let i = 0; i + 1 < b.length; i += 2) sum += b.readUInt16BE(i);
  if (b.length % 2) sum += (b[b.length - 1] ?? 0) << 8;
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >>> 16);
  return ~sum & 0xffff;
}

/** icmpEcho builds an IPv4 ICMP echo request (type 8) or reply (type 0). */
function icmpEcho(type: 0 | 8, src: number[], dst: number[], id: number, seq: number, payload: Buffer): Buffer {
  const icmp = Buffer.concat([Buffer.alloc(8), payload]);
  icmp[0] = type;
  icmp.writeUInt16BE(id, 4);
  icmp.writeUInt16BE(seq, 6);
  icmp.writeUInt16BE(checksum(icmp), 2);
  const ip = Buffer.alloc(20);
  ip[0] = 0x45;
  ip.writeUInt16BE(20 + icmp.length, 2);
  ip[8] = 64;
  ip[9] = 1;
  Buffer.from(src).copy(ip, 12);
  Buffer.from(dst).copy(ip, 16);
  ip.writeUInt16BE(checksum(ip), 10);
  return Buffer.concat([ip, icmp]);
}

function send(msg: Buffer): void {
  sock!.send(msg, WG_PORT, nsIp);
}

function sendData(plaintext: Buffer): void {
  const kp = peer.sendKeypair(now());
  assert.ok(kp, 'a session to send with');
  send(sealTransport(kp, plaintext));
  const rekey = peer.sentData(now(), 1, plaintext.length === 0);
  if (rekey) send(rekey);
}

function onDatagram(msg: Buffer, from: { address: string; port: number }): void {
  const t = now();
  if (msg.length >= 4 && msg.readUInt32LE(0) === MessageType.Transport) {
    const r = openTransport(core, msg, t);
    if ('drop' in r) return;
    core.receivedData(r.peer, r.keypair, t, r.plaintext.length === 0);
    if (r.plaintext.length > 0) onPacket?.(r.plaintext);
    return;
  }
  const res = core.receiveControl(msg, { ip: from.address, port: from.port }, t);
  if (res.drop) drops.push(res.drop);
  if (res.reply) sock!.send(res.reply, from.port, from.address);
  if (res.sessionReady) onSession?.();
}

function waitFor<T>(what: string, ms: number, arm: (resolve: (v: T) => void) => void): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
    arm((v) => {
      clearTimeout(timer);
      resolve(v);
    });
  });
}

before(async () => {
  if (skipReason) return;
  tmp = mkdtempSync(join(tmpdir(), 'wgnoise-'));
  theirPrivate = generatePrivateKey();
  const keyFile = join(tmp, 'wg.key');
  writeFileSync(keyFile, formatKey(theirPrivate) + '\n', { mode: 0o600 });
  const pskFile = join(tmp, 'psk.key');
  writeFileSync(pskFile, formatKey(psk) + '\n', { mode: 0o600 });
  sh('ip', 'netns', 'add', ns);
  sh('ip', 'link', 'add', vethHost, 'type', 'veth', 'peer', 'name', vethNs, 'netns', ns);
  sh('ip', 'addr', 'add', `${hostIp}/30`, 'dev', vethHost);
  sh('ip', 'link', 'set', vethHost, 'up');
  sh('ip', '-n', ns, 'addr', 'add', `${nsIp}/30`, 'dev', vethNs);
  sh('ip', '-n', ns, 'link', 'set', vethNs, 'up');
  sh('ip', '-n', ns, 'link', 'set', 'lo', 'up');
  wg = spawn('ip', ['netns', 'exec', ns, WG_GO, '-f', wgIf], { stdio: 'ignore' });
  const sockPath = `/var/run/wireguard/${wgIf}.sock`;
  await waitFor<void>('wireguard-go to start', 5000, (done) => {
    const poll = setInterval(() => {
      if (existsSync(sockPath)) {
        clearInterval(poll);
        done();
      }
    }, 50);
  });
  sock = createSocket('udp4');
  sock.on('message', onDatagram);
  await new Promise<void>((resolve) => sock!.bind(0, hostIp, resolve));
  const ourPort = sock.address().port;
  core = new NoiseCore({ privateKey: ourPrivate, isUnderLoad: () => underLoad });
  peer = core.addPeer(publicKeyFromPrivate(theirPrivate), { presharedKey: psk });
  sh(
    'wg',
    'set',
    wgIf,
    'private-key',
    keyFile,
    'listen-port',
    String(WG_PORT),
    'peer',
    formatKey(core.publicKey),
    'preshared-key',
    pskFile,
    'allowed-ips',
    `${ourTunnelIp.join('.')}/32`,
    'endpoint',
    `${hostIp}:${ourPort}`,
  );
  sh('ip', '-n', ns, 'addr', 'add', `${theirTunnelIp.join('.')}/24`, 'dev', wgIf);
  sh('ip', '-n', ns, 'link', 'set', wgIf, 'up');
  ticker = setInterval(() => {
    for (const a of core.tick(now())) {
      if (a.kind === 'send-initiation') send(a.message);
      else if (a.kind === 'send-keepalive') sendData(Buffer.alloc(0));
    }
  }, 100);
});

after(() => {
  if (ticker) clearInterval(ticker);
  sock?.close();
  if (wg?.pid && wg.exitCode === null) wg.kill('SIGTERM');
  try {
    sh('ip', 'netns', 'del', ns);
  } catch {
    /* not created */
  }
  try {
    sh('ip', 'link', 'del', vethHost);
  } catch {
    /* went with the namespace */
  }
  rmSync(`/var/run/wireguard/${wgIf}.sock`, { force: true });
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

test(
  'we initiate to wireguard-go and ping through the tunnel',
  { skip: skipReason ?? false, timeout: 20_000 },
  async () => {
    const ready = waitFor<void>('the handshake response', 8000, (done) => {
      onSession = done;
    });
    const init = peer.initiate(now());
    assert.ok(init);
    send(init);
    await ready;
    const payload = Buffer.from('warren-noise-interop');
    const reply = waitFor<Buffer>('the echo reply', 8000, (done) => {
      onPacket = (ip) => {
        if (ip[9] === 1 && ip[20] === 0) done(ip);
      };
    });
    sendData(icmpEcho(8, ourTunnelIp, theirTunnelIp, 0x4242, 1, payload));
    const ip = await reply;
    assert.deepEqual([...ip.subarray(12, 16)], theirTunnelIp);
    assert.deepEqual([...ip.subarray(16, 20)], ourTunnelIp);
    assert.equal(ip.readUInt16BE(24), 0x4242);
    assert.ok(ip.subarray(28).equals(payload));
  },
);

/** pingFromNamespace makes wireguard-go forget its session with us (a fresh peer entry) and
 * pings our tunnel address, so wireguard-go starts a handshake; it resolves with the ICMP echo
 * request that arrives through the tunnel and the ping's exit. */
function pingFromNamespace(waitMs: number): {
  request: Promise<Buffer>;
  exit: Promise<number | null>;
  kill: () => void;
} {
  sh('wg', 'set', wgIf, 'peer', formatKey(core.publicKey), 'remove');
  sh(
    'wg',
    'set',
    wgIf,
    'peer',
    formatKey(core.publicKey),
    'preshared-key',
    join(tmp, 'psk.key'),
    'allowed-ips',
    `${ourTunnelIp.join('.')}/32`,
    'endpoint',
    `${hostIp}:${sock!.address().port}`,
  );
  const request = waitFor<Buffer>('the echo request', waitMs, (done) => {
    onPacket = (ip) => {
      if (ip[9] === 1 && ip[20] === 8) done(ip);
    };
  });
  const ping = spawn(
    'ip',
    ['netns', 'exec', ns, 'ping', '-c', '1', '-W', String(Math.ceil(waitMs / 1000)), ourTunnelIp.join('.')],
    { stdio: 'ignore' },
  );
  const exit = new Promise<number | null>((resolve) => ping.on('exit', resolve));
  return {
    request,
    exit,
    kill: () => {
      if (ping.exitCode === null) ping.kill();
    },
  };
}

function answerEcho(ip: Buffer): void {
  const icmp = ip.subarray(20);
  sendData(icmpEcho(0, ourTunnelIp, theirTunnelIp, icmp.readUInt16BE(4), icmp.readUInt16BE(6), icmp.subarray(8)));
}

test(
  'wireguard-go initiates to us and its ping is answered',
  { skip: skipReason ?? false, timeout: 20_000 },
  async () => {
    const ping = pingFromNamespace(8000);
    try {
      const ip = await ping.request;
      // Receiving on the responder's new session confirmed it, so we can answer at once.
      assert.ok(peer.sendKeypair(now()));
      assert.equal(peer.sendKeypair(now())!.isInitiator, false);
      answerEcho(ip);
      assert.equal(await ping.exit, 0, 'ping inside the namespace got its reply');
    } finally {
      ping.kill();
    }
  },
);

test(
  'under load wireguard-go takes our cookie and retries with a valid mac2',
  { skip: skipReason ?? false, timeout: 30_000 },
  async () => {
    underLoad = true;
    drops.length = 0;
    // wireguard-go retransmits after REKEY_TIMEOUT (5 s) plus jitter, now carrying mac2.
    const ping = pingFromNamespace(12_000);
    try {
      const ip = await ping.request;
      assert.ok(
        drops.includes('bad-mac2-cookie-sent'),
        `first initiation answered with a cookie (drops: ${drops.join(',')})`,
      );
      answerEcho(ip);
      assert.equal(await ping.exit, 0);
    } finally {
      underLoad = false;
      ping.kill();
    }
  },
);
