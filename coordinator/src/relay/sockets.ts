// The standalone relay's own sockets (startRelay): one udp4 socket, one TCP server. The
// coordinator's embedded relay uses its own UDP port instead (udp-port.ts).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from '../../../helper/src/log.js';
import type { ReplyFn } from './sessions.js';

/** bindUdp binds a udp4 socket and hands each datagram, with a reply function, to onMessage. */
export async function bindUdp(at: { host: string; port: number }, onMessage: (msg: Buffer, ip: string, port: number, reply: ReplyFn) => void, log: Logger): Promise<UdpSocket> {
  const sock = createSocket('udp4');
  // A send error (no route, buffer full) is a lost datagram, which UDP allows; no crash.
  const sent = (e: Error | null): void => {
    if (e) log.rateLimited('relay-udp-send', 10_000).debug(`relay: udp send: ${e.message}`);
  };
  const reply: ReplyFn = (buf, ip, port) => sock.send(buf, port, ip, sent);
  sock.on('message', (msg, rinfo) => onMessage(msg, rinfo.address, rinfo.port, reply));
  try {
    await new Promise<void>((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(at.port, at.host, () => {
        sock.off('error', reject);
        resolve();
      });
    });
  } catch (e) {
    sock.close();
    throw e;
  }
  sock.on('error', (e) => log.warn(`relay: udp socket: ${e.message}`));
  // Bursts from many clients at once: a bigger receive queue loses fewer (the kernel caps it).
  try {
    sock.setRecvBufferSize(4 << 20);
    sock.setSendBufferSize(4 << 20);
  } catch {
    // Not fatal: the default buffers work, only with more loss under load.
  }
  return sock;
}

/** listenTcp starts a TCP server that hands each accepted socket to attach. */
export async function listenTcp(at: { host: string; port: number }, attach: (socket: Socket) => void, log: Logger): Promise<Server> {
  const server = createServer(attach);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(at.port, at.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (e) => log.warn(`relay: tcp server: ${e.message}`));
  return server;
}
