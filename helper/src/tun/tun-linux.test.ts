// The Linux adapter without root: the iproute2 arguments it computes, the words it finds for a
// failed TUNSETIFF, and its order of system calls (configure, undo on failure, unroute before
// close), with the system calls replaced. The real device is exercised in e2e/lifecycle.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { parseIp, parseIpPrefix } from '../../../src-shared/lib/ip/addr.js';
import { adapterPlan, IPV6_QUIET, linuxTunDriver, openLinuxTun, tunOpenError, type LinuxTunSys } from './tun-linux.js';
import { systemTun, type TunConfig } from './index.js';

const CFG: TunConfig = {
  name: 'warren0',
  address: parseIPv4('100.64.0.1')!,
  network: parseCidr('100.64.0.0/10')!,
  mtu: 1420,
};

test('the plan sets the MTU, a /32 address, the link up and the overlay route from the virtual address', () => {
  assert.deepEqual(adapterPlan('wg3', CFG), {
    mtu: ['link', 'set', 'dev', 'wg3', 'mtu', '1420'],
    address: ['addr', 'add', '100.64.0.1/32', 'dev', 'wg3'],
    up: ['link', 'set', 'dev', 'wg3', 'up'],
    route: ['route', 'add', '100.64.0.0/10', 'dev', 'wg3', 'src', '100.64.0.1', 'proto', 'static'],
    unroute: ['route', 'del', '100.64.0.0/10', 'dev', 'wg3'],
    address6: null,
    route6: null,
    unroute6: null,
  });
});

const CFG6: TunConfig = {
  ...CFG,
  address6: parseIp('fd12:3456:789a::6440:1'),
  network6: parseIpPrefix('fd12:3456:789a::/48'),
};

test('with IPv6 the plan adds the address as a /128 without DAD and routes the network /48 from it', () => {
  const plan = adapterPlan('wg3', CFG6);
  assert.deepEqual(plan.address6, ['-6', 'addr', 'add', 'fd12:3456:789a::6440:1/128', 'dev', 'wg3', 'nodad']);
  assert.deepEqual(plan.route6, [
    '-6',
    'route',
    'add',
    'fd12:3456:789a::/48',
    'dev',
    'wg3',
    'src',
    'fd12:3456:789a::6440:1',
    'proto',
    'static',
  ]);
  assert.deepEqual(plan.unroute6, ['-6', 'route', 'del', 'fd12:3456:789a::/48', 'dev', 'wg3']);
});

test('with IPv6 the adapter is quieted before it has addresses or is up, and both routes go on close', () => {
  const { sys, calls } = fakeSys();
  const tun = openLinuxTun(CFG6, sys);
  assert.equal(tun.ipv6, true);
  assert.deepEqual(calls, [
    'open warren0',
    'ip link set dev wg3 mtu 1420',
    'ipv6 wg3',
    'ip addr add 100.64.0.1/32 dev wg3',
    'ip -6 addr add fd12:3456:789a::6440:1/128 dev wg3 nodad',
    'ip link set dev wg3 up',
    'ip route add 100.64.0.0/10 dev wg3 src 100.64.0.1 proto static',
    'ip -6 route add fd12:3456:789a::/48 dev wg3 src fd12:3456:789a::6440:1 proto static',
  ]);
  calls.length = 0;
  tun.close();
  assert.deepEqual(calls, [
    'ip? route del 100.64.0.0/10 dev wg3',
    'ip? -6 route del fd12:3456:789a::/48 dev wg3',
    'close 7',
  ]);
});

test('on a host without IPv6 the adapter comes up IPv4 only and says so', () => {
  const { sys, calls } = fakeSys({ noIPv6: true });
  const tun = openLinuxTun(CFG6, sys);
  assert.equal(tun.ipv6, false);
  assert.ok(calls.includes('no ipv6 wg3'));
  assert.ok(!calls.some((c) => c.includes('-6')), calls.join('\n'));
});

test('the quiet IPv6 settings turn off router discovery, SLAAC and DAD, and the link-local address first', () => {
  const settings = new Map(IPV6_QUIET);
  assert.equal(IPV6_QUIET[0]![0], 'addr_gen_mode', 'no link-local address is made once IPv6 is on');
  assert.equal(IPV6_QUIET.at(-1)!.join('='), 'disable_ipv6=0', 'IPv6 is turned on last');
  for (const [k, v] of Object.entries({
    addr_gen_mode: '1',
    accept_ra: '0',
    router_solicitations: '0',
    accept_dad: '0',
  }))
    assert.equal(settings.get(k), v, k);
});

test('a failed TUNSETIFF is worded for the person running the helper', () => {
  const errno = (code: string): NodeJS.ErrnoException =>
    Object.assign(new Error(`TUNSETIFF warren0: ${code}`), { code });
  const cases: Array<[string, RegExp]> = [
    [
      'EBUSY',
      /^adapter warren0 is in use by another program \(another Warren helper or VPN\?\); stop it or set Adapter\.Name/,
    ],
    ['EPERM', /^cannot create adapter warren0: permission denied \(run the helper as root\)$/],
    ['EACCES', /^cannot create adapter warren0: permission denied/],
    ['ENOENT', /^cannot create the adapter: \/dev\/net\/tun is missing \(load the tun module\)$/],
  ];
  for (const [code, want] of cases) assert.match(tunOpenError('warren0', errno(code)).message, want, code);
  const other = errno('EINVAL');
  assert.equal(tunOpenError('warren0', other), other, 'an errno without advice is passed on as it is');
});

// fakeSys records the system calls; failOn makes `ip` fail for arguments starting with it.
function fakeSys(opts: { failOn?: string; openError?: NodeJS.ErrnoException; noIPv6?: boolean } = {}): {
  sys: LinuxTunSys;
  calls: string[];
} {
  const calls: string[] = [];
  const sys: LinuxTunSys = {
    tunOpen(name) {
      calls.push(`open ${name}`);
      if (opts.openError) throw opts.openError;
      return { fd: 7, name: 'wg3' };
    },
    closeFd: (fd) => calls.push(`close ${fd}`),
    ip(args) {
      calls.push(`ip ${args.join(' ')}`);
      if (opts.failOn !== undefined && args.join(' ').startsWith(opts.failOn))
        throw new Error(`ip ${args.join(' ')}: RTNETLINK answers: File exists`);
    },
    ipQuiet(args) {
      calls.push(`ip? ${args.join(' ')}`);
      return true;
    },
    disableIPv6: (name) => calls.push(`no ipv6 ${name}`),
    enableIPv6: (name) => {
      calls.push(`ipv6 ${name}`);
      return opts.noIPv6 !== true;
    },
  };
  return { sys, calls };
}

test('opening configures the adapter the kernel named, and close takes the route away before the descriptor', () => {
  const { sys, calls } = fakeSys();
  const tun = openLinuxTun(CFG, sys);
  assert.deepEqual([tun.name, tun.mtu], ['wg3', 1420]);
  assert.deepEqual(calls, [
    'open warren0',
    'ip link set dev wg3 mtu 1420',
    'no ipv6 wg3',
    'ip addr add 100.64.0.1/32 dev wg3',
    'ip link set dev wg3 up',
    'ip route add 100.64.0.0/10 dev wg3 src 100.64.0.1 proto static',
  ]);
  calls.length = 0;
  tun.close();
  tun.close();
  assert.deepEqual(calls, ['ip? route del 100.64.0.0/10 dev wg3', 'close 7'], 'close runs once');
});

test('a configuration step that fails closes the descriptor, so the kernel removes the adapter', () => {
  const { sys, calls } = fakeSys({ failOn: 'addr add' });
  assert.throws(
    () => openLinuxTun(CFG, sys),
    /^Error: ip addr add 100\.64\.0\.1\/32 dev wg3: RTNETLINK answers: File exists$/,
  );
  assert.deepEqual(calls.slice(-2), ['ip addr add 100.64.0.1/32 dev wg3', 'close 7']);
  assert.ok(!calls.some((c) => c.includes('up') || c.includes('route')), 'nothing after the failing step ran');
});

test('an adapter that cannot be created touches nothing else', () => {
  const { sys, calls } = fakeSys({
    openError: Object.assign(new Error('TUNSETIFF warren0: Operation not permitted'), { code: 'EPERM' }),
  });
  assert.throws(() => openLinuxTun(CFG, sys), /permission denied \(run the helper as root\)/);
  assert.deepEqual(calls, ['open warren0']);
});

test('on Linux the system driver is the Linux one', { skip: process.platform !== 'linux' }, () => {
  assert.equal(systemTun, linuxTunDriver);
});
