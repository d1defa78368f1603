// listen binds a net.Server and returns the bound port (the chosen one when asked for 0).
import type { Server, Socket } from 'node:net';

/** listen starts server on host:port and resolves with the port it got. */
export async function listen(server: Server, port: number, host: string): Promise<number> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  return typeof addr === 'object' && addr ? addr.port : port;
}

/** ConnectionCounts are the counters track keeps. */
export interface ConnectionCounts {
  active: number;
  accepted: number;
}

/** track counts an admitted connection and forgets it when it closes (close() ends the rest). */
export function track(sock: Socket, st: ConnectionCounts, sockets: Set<Socket>): void {
  st.active++;
  st.accepted++;
  sockets.add(sock);
  sock.once('close', () => {
    st.active--;
    sockets.delete(sock);
  });
}
