// udp-relay: a one-client UDP forwarder that sits between two WireGuard peers and can replay
// what it forwarded. Datagrams arriving at LISTEN_IP:LISTEN_PORT are forwarded to
// TARGET_IP:TARGET_PORT from an ephemeral socket (bound to OUT_IP), and the first MAX of them
// are recorded; the target's answers go back to the last client. Commands on stdin:
// "count" -> {"recorded":N,"forwarded":N}; "replay" -> resends every recorded datagram to the
// target from the same socket -> {"replayed":N}; "initiations" -> the recorded handshake
// initiations (type 1, 148 bytes, whitepaper §5.4.2) in base64 -> {"initiations":[...]}.
// Usage: node udp-relay.js LISTEN_IP LISTEN_PORT TARGET_IP TARGET_PORT OUT_IP [MAX]
import { createSocket, type RemoteInfo } from 'node:dgram';
import { createInterface } from 'node:readline';

const [listenIp = '', listenPort = '', targetIp = '', targetPort = '', outIp = '0.0.0.0', maxArg = '4096'] =
  process.argv.slice(2);
const max = Number(maxArg);
const front = createSocket('udp4');
const back = createSocket('udp4');
const recorded: Buffer[] = [];
let client: RemoteInfo | undefined;
let forwarded = 0;

front.on('message', (msg, rinfo) => {
  client = rinfo;
  forwarded++;
  if (recorded.length < max) recorded.push(Buffer.from(msg));
  back.send(msg, Number(targetPort), targetIp);
});
back.on('message', (msg) => {
  if (client) front.send(msg, client.port, client.address);
});

async function replay(): Promise<number> {
  let n = 0;
  for (let i = 0; i < recorded.length; i += 50) {
    await Promise.all(
      recorded.slice(i, i + 50).map(
        (d) =>
          new Promise<void>((resolve) => {
            back.send(d, Number(targetPort), targetIp, (err) => {
              if (!err) n++;
              resolve();
            });
          }),
      ),
    );
    await new Promise((r) => setTimeout(r, 2));
  }
  return n;
}

await Promise.all([
  new Promise<void>((r) => front.bind(Number(listenPort), listenIp, r)),
  new Promise<void>((r) => back.bind(0, outIp, r)),
]);
process.stdout.write(JSON.stringify({ ready: true, out: back.address().port }) + '\n');
for await (const line of createInterface({ input: process.stdin })) {
  const cmd = line.trim();
  if (cmd === 'count') process.stdout.write(JSON.stringify({ recorded: recorded.length, forwarded }) + '\n');
  else if (cmd === 'replay') process.stdout.write(JSON.stringify({ replayed: await replay() }) + '\n');
  else if (cmd === 'initiations') {
    const inits = recorded.filter((d) => d.length === 148 && d.readUInt32LE(0) === 1).map((d) => d.toString('base64'));
    process.stdout.write(JSON.stringify({ initiations: inits }) + '\n');
  }
}
front.close();
back.close();
