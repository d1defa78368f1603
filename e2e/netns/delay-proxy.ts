// delay-proxy: a UDP forwarder that adds a fixed delay, standing in for distance where the
// kernel has no netem (tc qdisc netem needs sch_netem, which not every test machine's kernel
// has). Datagrams to LISTEN_IP:LISTEN_PORT go to TARGET_IP:TARGET_PORT DELAY_MS later, from one
// socket per client (at most 64), so the target sees each client as a source of its own and
// its answers go back to that client at once. A round trip through it is DELAY_MS longer.
// Usage: node delay-proxy.js LISTEN_IP LISTEN_PORT TARGET_IP TARGET_PORT DELAY_MS
import { createSocket, type Socket } from 'node:dgram';

const [listenIp = '', listenPort = '', targetIp = '', targetPort = '', delayArg = '0'] = process.argv.slice(2);
const delay = Number(delayArg);
const MAX_CLIENTS = 64;
const front = createSocket('udp4');
const backs = new Map<string, Socket>();

function backFor(ip: string, port: number): Socket | null {
  const key = `${ip}:${port}`;
  let s = backs.get(key);
  if (s !== undefined) return s;
  if (backs.size >= MAX_CLIENTS) return null;
  s = createSocket('udp4');
  s.bind(0);
  s.on('message', (msg) => front.send(msg, port, ip));
  backs.set(key, s);
  return s;
}

front.on('message', (msg, r) => {
  const back = backFor(r.address, r.port);
  if (back === null) return;
  setTimeout(() => back.send(msg, Number(targetPort), targetIp), delay);
});

await new Promise<void>((r) => front.bind(Number(listenPort), listenIp, r));
process.stdout.write(JSON.stringify({ ready: true }) + '\n');
