// The UAPI (helper/src/wireguard/uapi/): whatever a local process writes to
// /var/run/wireguard/NAME.sock, framed by UapiConnection, parsed by SetParser and applied by
// DeviceTarget to a real Device on the in-memory network. Each input is one client's byte
// stream, cut into pieces as a socket might deliver it.
import assert from 'node:assert/strict';
import type { HarnessSpec } from '../engine.js';
import { errorOutcome } from '../guard.js';
import { pieces } from './http-request.js';
import { createLogger } from '../../../src-shared/lib/log.js';
import { Device } from '../../../helper/src/wireguard/device/device.js';
import { FakeNetwork, FakeTun, ipv4 } from '../../../helper/src/wireguard/device/fake-io.js';
import { UapiConnection } from '../../../helper/src/wireguard/uapi/connection.js';
import { DeviceTarget } from '../../../helper/src/wireguard/uapi/device-target.js';
import { UAPI_ERRNO } from '../../../helper/src/wireguard/uapi/errors.js';

const silent = createLogger(-1, { write: () => true });
const ERRNOS = new Set<number>(Object.values(UAPI_ERRNO));
const GET_KEYS = new Set([
  'private_key',
  'listen_port',
  'fwmark',
  'public_key',
  'preshared_key',
  'protocol_version',
  'endpoint',
  'last_handshake_time_sec',
  'last_handshake_time_nsec',
  'tx_bytes',
  'rx_bytes',
  'persistent_keepalive_interval',
  'allowed_ip',
  'errno',
]);

interface Session {
  replies: string[];
  outcomes: string[];
  closed: boolean;
}

/** checkGet asserts that a get reply is key=value lines of known keys ending with errno=0. */
function checkGet(text: string): void {
  assert.ok(text.endsWith('errno=0\n\n'), `a get reply that does not end with errno=0: ${text.slice(-40)}`);
  for (const line of text.slice(0, -2).split('\n')) {
    const eq = line.indexOf('=');
    assert.ok(eq > 0 && GET_KEYS.has(line.slice(0, eq)), `an unknown line in a get reply: ${line.slice(0, 80)}`);
  }
}

// session feeds the input to a fresh device's connection and waits until it has settled.
async function session(chunks: Buffer[]): Promise<Session> {
  const net = new FakeNetwork();
  const dev = new Device({
    privateKey: null,
    tun: new FakeTun('fuzz', 1420),
    bind: net.bind(ipv4('192.0.2.1'), 51820),
    mtu: 1420,
    log: silent,
  });
  const target = new DeviceTarget(dev, { log: silent, openBind: (port) => net.bind(ipv4('192.0.2.1'), port || 40000) });
  const s: Session = { replies: [], outcomes: [], closed: false };
  const handler = {
    get: () => target.get(),
    // A refused set must change nothing: the state before and after it are the same.
    set: async (req: Parameters<DeviceTarget['set']>[0]) => {
      const before = await target.get();
      try {
        await target.set(req);
        s.outcomes.push('set-ok');
      } catch (e) {
        assert.equal(await target.get(), before, `a refused set (${errorOutcome(e)}) changed the device`);
        s.outcomes.push(`set-refused:${errorOutcome(e)}`);
        throw e;
      }
    },
  };
  let pending = 0;
  const conn = new UapiConnection(handler, {
    write: (t) => s.replies.push(t),
    pause: () => pending++,
    resume: () => pending--,
    close: () => (s.closed = true),
    log: () => {},
  });
  for (const c of chunks) {
    conn.feed(c.toString('latin1'));
    while (pending > 0) await new Promise((r) => setImmediate(r));
  }
  conn.end();
  return s;
}

export const uapi: HarnessSpec = {
  name: 'uapi',
  properties: [
    'every reply is errno=N and an empty line with N a known UAPI errno, or a get reply of known keys ending with errno=0',
    'a set that is refused leaves the device exactly as it was (validate-then-apply)',
    'the replies do not depend on how the stream is cut',
  ],
  testIterations: 1500,
  timeLimitMs: 2000,
  create() {
    const key = (b: number): string => b.toString(16).padStart(2, '0').repeat(32);
    return {
      seeds: [
        'get=1\n\n',
        `set=1\nprivate_key=${key(0x41)}\nlisten_port=51820\nfwmark=0\nreplace_peers=true\npublic_key=${key(2)}\n` +
          `preshared_key=${key(3)}\nendpoint=192.0.2.2:51820\npersistent_keepalive_interval=25\n` +
          'replace_allowed_ips=true\nallowed_ip=10.0.0.0/8\nallowed_ip=-10.1.0.0/16\nprotocol_version=1\n\nget=1\n\n',
        `set=1\npublic_key=${key(4)}\nupdate_only=true\n\nset=1\npublic_key=${key(4)}\nremove=true\n\nget=1\n\n`,
        `set=1\npublic_key=${key(5)}\nallowed_ip=fd00::/8\nendpoint=[2001:db8::1]:1\n\nget=1\n\n`,
        'set=1\nlisten_port=65536\n\nset=1\nbogus\n\n',
      ].map((s) => Buffer.from(s, 'latin1')),
      dictionary: [
        'get=1\n\n',
        'set=1\n',
        '\n\n',
        'private_key=',
        'listen_port=',
        'fwmark=',
        'replace_peers=true',
        'public_key=',
        'remove=true',
        'update_only=true',
        'preshared_key=',
        'endpoint=',
        'persistent_keepalive_interval=',
        'replace_allowed_ips=true',
        'allowed_ip=',
        'allowed_ip=-',
        'protocol_version=1',
        '0'.repeat(64),
        '/32',
        '/128',
        '::',
        ':65535',
      ],
      maxLen: 8 * 1024,
      async run(input) {
        const cut = await session(pieces(input));
        for (const r of cut.replies) {
          const m = /^errno=(-?\d+)\n\n$/.exec(r);
          if (m) assert.ok(ERRNOS.has(Number(m[1])), `an unknown errno: ${r.trim()}`);
          else checkGet(r);
        }
        const whole = await session([input]);
        assert.deepEqual(
          whole.replies.map((r) => r.replace(/last_handshake_time_n?sec=\d+/g, '')),
          cut.replies.map((r) => r.replace(/last_handshake_time_n?sec=\d+/g, '')),
          'the replies depend on how the stream was cut',
        );
        return [...cut.outcomes, `replies:${Math.min(cut.replies.length, 4)}`, cut.closed ? 'closed' : 'open'];
      },
    };
  },
};
