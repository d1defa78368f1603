// handshake-flood: floods a WireGuard responder with handshake messages from many source
// addresses, as an attacker who knows the responder's public key can (it is no secret: maps
// and `warren status` show it). It sends four kinds in turn:
//   random   random bytes of random length (0..1500);
//   mac1     initiations (whitepaper §5.4.2, 148 bytes) with random content and a valid mac1,
//            whose key is HASH(LABEL_MAC1 || the responder's public key) (§5.4.4);
//   replay   a recorded genuine initiation, sent again as it was;
//   mac2     initiations with a valid mac1 and a valid mac2. Each source learns its cookie as
//            any client does: it sends with a valid mac1 until the responder, under load,
//            answers with a cookie reply, which it opens with XChaCha20-Poly1305 under
//            HASH(LABEL_COOKIE || the responder's public key), with the mac1 it sent as
//            associated data (§5.4.7); mac2 is then MAC(cookie, message up to mac2). Until a
//            source holds a cookie, its mac2 turns carry a valid mac1 only ('cookieless').
// Each source is a UDP socket bound to its own address out of a range the namespace owns (an
// AnyIP local route), so no raw sockets or spoofing are needed and cookie replies come back.
// The flood runs at RATE datagrams a second from the start; the first WARMUP seconds at most let
// the sources collect cookies. It prints {"flooding":true,...} when the measured part begins.
// Lines on stdin steer it, so one run can measure with and without it side by side: "pause"
// (sending stops; cookie replies are still read), "resume", and "stop", which ends it with a
// JSON report; after SECONDS it stops by itself. The measured rate counts only resumed time.
// Usage: node handshake-flood.js TARGET_IP PORT PUBKEY_B64 FIRST_SOURCE SOURCES RATE WARMUP_S
//        SECONDS REPLAY_B64
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket, type Socket } from 'node:dgram';
import { createInterface } from 'node:readline';
import { cookieKey, mac1Key } from '../../helper/src/wireguard/noise/cookie.js';
import { mac, xaeadOpen } from '../../helper/src/wireguard/noise/crypto.js';
import { formatIPv4, parseIPv4 } from '../../src-shared/lib/ip/ipv4.js';

const [
  targetIp = '',
  portArg = '',
  pubArg = '',
  firstArg = '',
  nArg = '',
  rateArg = '',
  warmArg = '',
  secArg = '',
  replayArg = '',
] = process.argv.slice(2);
const port = Number(portArg);
const publicKey = Buffer.from(pubArg, 'base64');
const sources = Number(nArg);
const rate = Number(rateArg);
const warmupMs = Number(warmArg) * 1000;
const maxMs = Number(secArg) * 1000;
const replay = Buffer.from(replayArg, 'base64');
const first = parseIPv4(firstArg);
if (publicKey.length !== 32 || replay.length !== 148 || first === null || !(sources > 0 && rate > 0)) {
  throw new Error('usage: handshake-flood TARGET_IP PORT PUBKEY FIRST_SOURCE SOURCES RATE WARMUP_S SECONDS REPLAY');
}

const MAC1_AT = 116;
const MAC2_AT = 132;
const POOL = 1024;
const MAC2_PER_SOURCE = 2;
const KINDS = ['random', 'mac1', 'replay', 'mac2'] as const;
const k1 = mac1Key(publicKey);
const kCookie = cookieKey(publicKey);

/** mac1ByIndex finds the mac1 a cookie reply answers, by its receiver field (our sender). */
const mac1ByIndex = new Map<number, Buffer>();
mac1ByIndex.set(replay.readUInt32LE(4), replay.subarray(MAC1_AT, MAC2_AT));

/** initiation returns 148 random bytes shaped as an initiation with a valid mac1, and with a
 * valid mac2 when cookie is given (zero mac2 otherwise, as a sender without a cookie sends). */
function initiation(cookie: Buffer | null): Buffer {
  const m = randomBytes(148);
  m.writeUInt32LE(1, 0);
  const sender = m.readUInt32LE(4);
  mac(k1, m.subarray(0, MAC1_AT)).copy(m, MAC1_AT);
  if (cookie) mac(cookie, m.subarray(0, MAC2_AT)).copy(m, MAC2_AT);
  else m.fill(0, MAC2_AT);
  mac1ByIndex.set(sender, m.subarray(MAC1_AT, MAC2_AT));
  return m;
}

const randomPool = Array.from({ length: POOL }, () => randomBytes(randomInt(0, 1501)));
const mac1Pool = Array.from({ length: POOL }, () => initiation(null));

interface Source {
  sock: Socket;
  cookie: Buffer | null;
  mac2: Buffer[];
}

const stats = {
  sent: 0,
  sendErrors: 0,
  kinds: { random: 0, mac1: 0, replay: 0, mac2: 0, cookieless: 0 },
  cookieReplies: 0,
  cookiesOpened: 0,
};

function onCookieReply(src: Source, msg: Buffer): void {
  if (msg.length !== 64 || msg.readUInt32LE(0) !== 3) return;
  stats.cookieReplies++;
  const sentMac1 = mac1ByIndex.get(msg.readUInt32LE(4));
  if (sentMac1 === undefined) return;
  const cookie = xaeadOpen(kCookie, msg.subarray(8, 32), msg.subarray(32, 64), sentMac1);
  if (cookie === null) return;
  stats.cookiesOpened++;
  if (src.cookie?.equals(cookie)) return;
  src.cookie = cookie;
  src.mac2 = Array.from({ length: MAC2_PER_SOURCE }, () => initiation(cookie));
}

async function openSources(): Promise<Source[]> {
  const out: Source[] = [];
  for (let i = 0; i < sources; i++) {
    const sock = createSocket('udp4');
    const src: Source = { sock, cookie: null, mac2: [] };
    sock.on('message', (msg) => onCookieReply(src, msg));
    sock.on('error', () => stats.sendErrors++);
    await new Promise<void>((resolve) => sock.bind(0, formatIPv4((first! + i) >>> 0), resolve));
    await new Promise<void>((resolve) => sock.connect(port, targetIp, resolve));
    out.push(src);
  }
  return out;
}

function onSent(err: Error | null): void {
  if (err) stats.sendErrors++;
  else stats.sent++;
}

/** datagram picks message seq: kinds take turns, and each source goes through every kind. */
function datagram(seq: number, src: Source): Buffer {
  const kind = KINDS[seq % KINDS.length]!;
  const n = Math.floor(seq / KINDS.length);
  if (kind === 'random') return randomPool[n % POOL]!;
  if (kind === 'replay') return replay;
  if (kind === 'mac2' && src.mac2.length > 0) return src.mac2[n % src.mac2.length]!;
  stats.kinds[kind === 'mac2' ? 'cookieless' : 'mac1']++;
  return mac1Pool[n % POOL]!;
}

function count(seq: number, src: Source): void {
  const kind = KINDS[seq % KINDS.length]!;
  if (kind === 'random' || kind === 'replay' || (kind === 'mac2' && src.mac2.length > 0)) stats.kinds[kind]++;
}

/** control is what stdin asked for; activeMs counts the time spent sending after the warm-up. */
const control = { paused: false, stopped: false, activeMs: 0 };
createInterface({ input: process.stdin }).on('line', (line) => {
  const cmd = line.trim();
  if (cmd === 'pause') control.paused = true;
  else if (cmd === 'resume') control.paused = false;
  else if (cmd === 'stop') control.stopped = true;
});

/** flood sends at `rate` until stopped or `ms` have passed since start; it catches up after a
 * late timer, but by at most 50 ms of traffic at once, so a stalled process shows as a lower
 * rate. While paused it sends nothing and owes nothing. onTick says whether the warm-up is over. */
async function flood(all: Source[], start: number, ms: number, onTick: (now: number) => boolean): Promise<void> {
  let seq = 0;
  let last = start;
  let owed = 0;
  for (;;) {
    const now = performance.now();
    if (control.stopped || now - start >= ms) return;
    const measured = onTick(now);
    if (!control.paused) {
      owed += now - last;
      if (measured) control.activeMs += now - last;
    }
    last = now;
    const due = Math.min(Math.floor((owed * rate) / 1000) - seq, Math.ceil(rate / 20));
    for (let i = 0; i < due; i++, seq++) {
      const src = all[Math.floor(seq / KINDS.length) % all.length]!;
      count(seq, src);
      src.sock.send(datagram(seq, src), onSent);
    }
    await new Promise((r) => setTimeout(r, 1));
  }
}

const all = await openSources();
const cpu0 = process.cpuUsage();
const start = performance.now();
let floodStart = -1;
let sentAtFloodStart = 0;
let cookieSourcesAtStart = 0;
await flood(all, start, maxMs, (now) => {
  if (floodStart >= 0) return true;
  const withCookie = all.filter((s) => s.cookie !== null).length;
  if (withCookie < all.length && now - start < warmupMs) return false;
  floodStart = now;
  sentAtFloodStart = stats.sent;
  cookieSourcesAtStart = withCookie;
  process.stdout.write(JSON.stringify({ flooding: true, cookieSources: withCookie }) + '\n');
  return true;
});
const end = performance.now();
await new Promise((r) => setTimeout(r, 300)); // the last send callbacks and cookie replies
const cpu = process.cpuUsage(cpu0);
for (const s of all) s.sock.close();
const floodSeconds = control.activeMs / 1000;
process.stdout.write(
  JSON.stringify({
    ...stats,
    seconds: (end - start) / 1000,
    floodSent: stats.sent - sentAtFloodStart,
    floodSeconds,
    floodRate: (stats.sent - sentAtFloodStart) / floodSeconds,
    sources: all.length,
    cookieSourcesAtStart,
    cookieSources: all.filter((s) => s.cookie !== null).length,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
  }) + '\n',
);
process.exit(0); // stdin stays open for commands; the report is the end
