// The Linux adapter without root: the iproute2 arguments it computes, the words it finds for a
// failed TUNSETIFF, and its order of system calls (configure, undo on failure, unroute before
// close), with the system calls replaced. The real device is exercised in e2e/lifecycle.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCidr, parseIPv4 } from '../../../src-shared/lib/ip/ipv4.js';
import { adapterPlan, linuxTunDriver, openLinuxTun, tunOpenError, type LinuxTunSys } from './tun-linux.js';
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
  });
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
function fakeSys(opts: { failOn?: string; openError?: NodeJS.ErrnoException } = {}): {
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
