// The UAPI socket: a Unix stream socket at /var/run/wireguard/IFNAME.sock, where wg(8) and
// wg-quick find userspace implementations (https://www.wireguard.com/xplatform/). As
// wireguard-go's ipc/uapi_unix.go: the directory is created 0755 if missing, the socket is
// created under umask 077 (mode 0600, owned by the user running us: root), a socket that
// answers a dial belongs to a live process and is refused, one that does not is stale and
// removed. Requests from all connections run one at a time (wireguard-go's ipcMutex), so a get
// never sees half a set; parsing happens per connection as bytes arrive, so a slow client
// holds nobody up.
import { chmodSync, lstatSync, mkdirSync, unlinkSync, watch, type FSWatcher } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from '../../../../src-shared/lib/log.js';
import { UapiConnection, type UapiHandler } from './connection.js';

/** DEFAULT_SOCKET_DIR is where wg(8) looks for userspace interfaces. */
export const DEFAULT_SOCKET_DIR = '/var/run/wireguard';
/** MAX_CONNECTIONS bounds concurrent clients; wg(8) uses one at a time. */
export const MAX_CONNECTIONS = 32;
/** IDLE_TIMEOUT_MS closes a connection that sends nothing for this long in the middle of a request. */
export const IDLE_TIMEOUT_MS = 30_000;

/** UapiServerOptions: the interface name, the handler, and where the socket goes. */
export interface UapiServerOptions {
  name: string;
  handler: UapiHandler;
  log: Logger;
  /** dir holds NAME.sock (default DEFAULT_SOCKET_DIR; tests use a temp dir). */
  dir?: string;
  /** onSocketRemoved hears that someone deleted the socket file (the program should exit). */
  onSocketRemoved?: () => void;
}

/** UapiServer is a listening UAPI socket. */
export interface UapiServer {
  readonly path: string;
  /** close stops listening, ends every connection and removes the socket file. */
  close(): Promise<void>;
}

/** socketPathFor is DIR/NAME.sock, after checking the name cannot leave the directory. */
export function socketPathFor(dir: string, name: string): string {
  if (!/^[A-Za-z0-9_=+.-]{1,15}$/.test(name) || name === '.' || name === '..') {
    throw new Error(`invalid interface name ${JSON.stringify(name)}`);
  }
  return join(dir, `${name}.sock`);
}

/** dialable tells whether a live process accepts connections on the socket at path. */
function dialable(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const c = createConnection(path);
    c.once('connect', () => {
      c.destroy();
      resolve(true);
    });
    c.once('error', () => resolve(false));
  });
}

// claimPath makes the directory and removes a stale socket, or refuses a live one.
async function claimPath(dir: string, path: string): Promise<void> {
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  let st;
  try {
    st = lstatSync(path);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; remove it`);
  if (await dialable(path)) throw new Error(`${path} is in use by another process (is the interface already up?)`);
  unlinkSync(path);
}

function listen(server: Server, path: string): Promise<void> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    // The umask covers the bind, which libuv makes inside listen(): the socket is born 0600.
    const old = process.umask(0o077);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(old);
    }
  });
}

/** Serial runs tasks one after another. */
function serial(): <T>(task: () => Promise<T>) => Promise<T> {
  let tail: Promise<unknown> = Promise.resolve();
  return <T>(task: () => Promise<T>): Promise<T> => {
    const run = tail.then(task, task);
    tail = run.catch(() => undefined);
    return run;
  };
}

/** startUapiServer claims the socket and serves requests until close. */
export async function startUapiServer(opts: UapiServerOptions): Promise<UapiServer> {
  const dir = opts.dir ?? DEFAULT_SOCKET_DIR;
  const path = socketPathFor(dir, opts.name);
  await claimPath(dir, path);
  const queue = serial();
  const handler: UapiHandler = {
    get: () => queue(() => opts.handler.get()),
    set: (req) => queue(() => opts.handler.set(req)),
  };
  const sockets = new Set<Socket>();
  const server = createServer((sock) => serve(sock, handler, sockets, opts.log));
  server.maxConnections = MAX_CONNECTIONS;
  await listen(server, path);
  chmodSync(path, 0o600);
  const watcher = watchRemoval(dir, path, opts);
  let closing: Promise<void> | null = null;
  return {
    path,
    close() {
      closing ??= new Promise<void>((resolve) => {
        watcher?.close();
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }).then(() => {
        try {
          unlinkSync(path);
        } catch {
          // already gone (net.Server removes it on close)
        }
      });
      return closing;
    },
  };
}

function serve(sock: Socket, handler: UapiHandler, sockets: Set<Socket>, log: Logger): void {
  sockets.add(sock);
  sock.setEncoding('latin1');
  sock.setTimeout(IDLE_TIMEOUT_MS, () => sock.destroy());
  const conn = new UapiConnection(handler, {
    write: (text) => {
      if (!sock.destroyed) sock.write(text, 'latin1');
    },
    pause: () => sock.pause(),
    resume: () => sock.resume(),
    close: () => sock.end(),
    log: (m) => log.info(`UAPI: ${m}`),
  });
  sock.on('data', (text: string) => conn.feed(text));
  sock.on('end', () => conn.end());
  sock.on('error', () => sock.destroy());
  sock.on('close', () => sockets.delete(sock));
}

// watchRemoval tells the owner when the socket file goes away: userspace implementations die
// when it is deleted (xplatform, "Interface").
function watchRemoval(dir: string, path: string, opts: UapiServerOptions): FSWatcher | null {
  if (!opts.onSocketRemoved) return null;
  const notify = opts.onSocketRemoved;
  try {
    const w = watch(dir, () => {
      try {
        lstatSync(path);
      } catch {
        w.close();
        notify();
      }
    });
    w.on('error', () => w.close());
    return w;
  } catch {
    return null;
  }
}
