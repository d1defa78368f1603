// A real TUN device in the root namespace for the native tests (tun.test.ts,
// tun-offload.test.ts): needs root and /dev/net/tun. Each device gets a random name and a
// random /30 in 100.127.0.0/16, and is deleted after the test whatever happens.
import type { TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import dgram from 'node:dgram';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { closeFd, tunOpen, type TunHandle } from './index.js';

function skipReason(): string | undefined {
  if (process.platform !== 'linux') return 'TUN tests need Linux';
  if (process.getuid?.() !== 0) return 'TUN tests need root';
  if (!existsSync('/dev/net/tun')) return 'TUN tests need /dev/net/tun';
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
  } catch {
    return 'TUN tests need iproute2 (ip)';
  }
  return undefined;
}

export function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** Fixture is an up TUN device with local address .1 and a peer .2 in its /30. */
export interface Fixture {
  tun: TunHandle;
  local: string;
  peer: string;
}

/** withTun runs `body` on a fresh device and always removes the device afterwards. */
export async function withTun(t: TestContext, body: (f: Fixture) => Promise<void>, offload = false): Promise<void> {
  const reason = skipReason();
  if (reason !== undefined) {
    t.skip(reason);
    return;
  }
  const name = `wnt${randomBytes(2).toString('hex')}`;
  const net = `100.127.${randomInt(0, 256)}.${randomInt(0, 64) * 4}`.split('.').map(Number);
  const at = (host: number) => [net[0], net[1], net[2], net[3]! + host].join('.');
  let tun: TunHandle | undefined;
  try {
    tun = tunOpen(name, offload);
    assert.equal(tun.name, name);
    ip('addr', 'add', `${at(1)}/30`, 'dev', name);
    ip('link', 'set', 'dev', name, 'up');
    await body({ tun, local: at(1), peer: at(2) });
  } finally {
    try {
      if (tun) closeFd(tun.fd); // a non-persistent device goes away with its descriptor...
    } catch {
      /* already closed by the test */
    }
    try {
      ip('link', 'del', name); // ...but make sure
    } catch {
      /* gone */
    }
  }
}

export const addrBytes = (a: string) => Buffer.from(a.split('.').map(Number));

export async function localSocket(addr: string): Promise<dgram.Socket> {
  const s = dgram.createSocket('udp4');
  s.bind(0, addr);
  await once(s, 'listening');
  return s;
}
