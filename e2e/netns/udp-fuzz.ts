// udp-fuzz: sends COUNT hostile datagrams to HOST PORT: random bytes of random length
// (0..1500), and each WireGuard message type (whitepaper §5.4: 1 initiation, 148 bytes;
// 2 response, 92; 3 cookie reply, 64; 4 transport data, >= 32) either with a wrong length or
// with the right shape but garbage content. Prints {"sent":N,"kinds":{...}}.
// Usage: node udp-fuzz.js HOST PORT COUNT
import { randomBytes, randomInt } from 'node:crypto';
import { createSocket } from 'node:dgram';

const [host = '', portArg = '', countArg = '1000'] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const VALID_LEN: Record<number, number> = { 1: 148, 2: 92, 3: 64 };

type Kind = 'random' | 'type1' | 'type2' | 'type3' | 'type4';
const KINDS: readonly Kind[] = ['random', 'type1', 'type2', 'type3', 'type4'];

function wrongLength(valid: number): number {
  for (;;) {
    const n = randomInt(0, 1501);
    if (n !== valid) return n;
  }
}

/** datagram builds the i-th hostile packet; odd i gets the right size for its type. */
function datagram(kind: Kind, i: number): Buffer {
  if (kind === 'random') return randomBytes(randomInt(0, 1501));
  const type = Number(kind.slice(4));
  const valid = VALID_LEN[type];
  let len: number;
  if (type === 4) len = i % 2 === 0 ? randomInt(1, 32) : randomInt(32, 1501);
  else len = i % 2 === 0 || valid === undefined ? wrongLength(valid ?? -1) : valid;
  const b = randomBytes(Math.max(len, 1));
  b[0] = type;
  if (b.length >= 4) b.fill(0, 1, 4);
  return b.subarray(0, len === 0 ? 0 : b.length);
}

const sock = createSocket('udp4');
const kinds: Record<Kind, number> = { random: 0, type1: 0, type2: 0, type3: 0, type4: 0 };
let sent = 0;
const BATCH = 50;
for (let i = 0; i < count; i += BATCH) {
  const batch: Promise<void>[] = [];
  for (let j = i; j < Math.min(count, i + BATCH); j++) {
    const kind = KINDS[j % KINDS.length] ?? 'random';
    kinds[kind]++;
    const d = datagram(kind, Math.floor(j / KINDS.length));
    batch.push(
      new Promise((resolve) =>
        sock.send(d, port, host, (err) => {
          if (!err) sent++;
          resolve();
        }),
      ),
    );
  }
  await Promise.all(batch);
  // Pace so the receiver's socket buffer, not the kernel, decides what it sees.
  await new Promise((r) => setTimeout(r, 2));
}
sock.close();
process.stdout.write(JSON.stringify({ sent, kinds }) + '\n');
