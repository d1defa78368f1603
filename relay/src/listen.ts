// "HOST:PORT" for the relay's sockets. The coordinator has its own parser in coordinator/src/cli/serve.ts, but
// importing it would load the whole coordinator (SQLite included) into a standalone relay.
import { isIP } from 'node:net';

/** parseHostPort reads "1.2.3.4:3478", "[::]:443" or "relay.example:443", or says what is wrong. */
export function parseHostPort(text: string): { host: string; port: number } | { problem: string } {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+)):([0-9]{1,5})$/.exec(text);
  const host = m?.[1] ?? m?.[2];
  if (!m || host === undefined) return { problem: `${JSON.stringify(text)} is not HOST:PORT (like 0.0.0.0:3478 or [::]:443)` };
  const port = Number(m[3]);
  if (port > 65535) return { problem: `port ${port} is over 65535` };
  if (m[1] !== undefined && isIP(host) !== 6) return { problem: `${JSON.stringify(host)} is not an IPv6 address` };
  if (isIP(host) === 0 && !/^[A-Za-z0-9.-]{1,253}$/.test(host)) return { problem: `${JSON.stringify(host)} is not an address or host name` };
  return { host, port };
}
