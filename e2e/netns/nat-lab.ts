// NatLab: a small internet for NAT traversal tests and benchmarks. A "public" switch holds
// the coordinator (with its discovery port and embedded relay); each site is a NAT router
// namespace (iptables MASQUERADE) with one or more hosts on its private LAN, each host running
// a real helper enrolled with the real coordinator.
//
//   host ── lan ── NAT router ── public switch ── coordinator (HTTP, UDP discovery + relay, TCP relay)
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { readProfile } from '../../helper/src/config/load.js';
import type { PeerStatus, Status } from '../../src-shared/wire/status.js';
import type { TrackedProcess } from './process.js';
import type { Link, Namespace, Switch, Topology } from './topology.js';
import { waitUntil } from './wait.js';
import { repoRoot, startWarren, warrenCli, type Warren } from './warren.js';

export const LAB = {
  coordIp: '203.0.113.100',
  httpPort: 8080,
  relayTcpPort: 8443,
  url: 'http://203.0.113.100:8080',
} as const;

/** LAB6 is the IPv6 lab's public network (documentation prefix, RFC 3849): a lab made with
 * `family: 6` has no IPv4 on it at all, so whatever works there works over IPv6 alone. */
export const LAB6 = {
  prefix: '2001:db8:100::',
  coordIp: '2001:db8:100::100',
  url: 'http://[2001:db8:100::100]:8080',
} as const;

/** NatKind is how a site's router treats UDP. */
export type NatBehaviour =
  /** endpoint-independent mapping (Linux keeps the source port): hole punching works */
  | 'easy'
  /** a new random port per destination (symmetric NAT): hole punching cannot work */
  | 'symmetric'
  /** no UDP leaves the site at all; only TCP */
  | 'udp-blocked';

export interface Site {
  name: string;
  router: Namespace;
  publicIp: string;
  publicIf: string;
  lanPrefix: string;
  lanIf: string;
  hosts: number;
}

export interface LabHost {
  name: string;
  ns: Namespace;
  lanIp: string;
  site: Site;
  w?: Warren;
  vip?: string;
  identity?: string;
  publicKey?: string;
}

export class NatLab {
  coordNs!: Namespace;
  coord!: TrackedProcess;
  sw!: Switch;
  private dataDir = '';
  private sites = 0;
  private publicHosts = 0;
  /** url is where helpers enrol and watch: http://IP:8080 or http://[IPv6]:8080 (https:// with tls). */
  url: string;
  /** tlsCert is the coordinator's certificate (PEM file) when it serves https, else null. */
  private tlsCert: string | null = null;
  private readonly coordIp: string;

  constructor(
    readonly topo: Topology,
    readonly family: 4 | 6 = 4,
  ) {
    this.url = family === 4 ? LAB.url : LAB6.url;
    this.coordIp = family === 4 ? LAB.coordIp : LAB6.coordIp;
  }

  /** hostPort writes the coordinator's address with a port, in brackets for IPv6. */
  private coordAt(port: number): string {
    return this.family === 4 ? `${this.coordIp}:${port}` : `[${this.coordIp}]:${port}`;
  }

  /** dualStack: the coordinator (of an IPv6 lab) has LAB.coordIp too, listens on [::] and is
   * started with both public addresses; hosts of NAT sites (IPv4) enrol at LAB.url. */
  private dualStack = false;

  /** start runs the coordinator: with tls (PEM files) it serves https, and helpers and curl
   * trust the certificate (NODE_EXTRA_CA_CERTS, --cacert). embeddedRelay false runs it with
   * --no-relay (a lab whose relays are all warren-relays of their own). */
  async start(
    coordinatorArgs: string[] = [],
    opts: { dualStack?: boolean; tls?: { cert: string; key: string }; embeddedRelay?: boolean } = {},
  ): Promise<void> {
    this.sw = await this.topo.addSwitch('in');
    this.coordNs = await this.topo.addNamespace('co');
    this.dualStack = opts.dualStack === true && this.family === 6;
    if (this.family === 4) await this.topo.attach(this.coordNs, this.sw, `${LAB.coordIp}/24`);
    else {
      const l = await this.attach6(this.coordNs, LAB6.coordIp);
      if (this.dualStack) await this.coordNs.exec(['ip', 'addr', 'add', `${LAB.coordIp}/24`, 'dev', l.aIf]);
    }
    const at = (port: number) => (this.dualStack ? `[::]:${port}` : this.coordAt(port));
    const publicIps = this.dualStack ? ['--public-ip', LAB.coordIp, '--public-ip', LAB6.coordIp] : [];
    const tls = opts.tls ? ['--tls-cert', opts.tls.cert, '--tls-key', opts.tls.key] : [];
    if (opts.tls) {
      this.tlsCert = opts.tls.cert;
      this.url = this.url.replace(/^http:/, 'https:');
    }
    this.dataDir = this.topo.file('coordinator-data');
    this.coord = this.coordNs.spawn(
      [
        process.execPath,
        join(repoRoot(), 'bin', 'warren-coordinator'),
        'serve',
        '--data',
        this.dataDir,
        '--listen',
        at(LAB.httpPort),
        ...(opts.embeddedRelay === false ? ['--no-relay'] : ['--relay-tcp', at(LAB.relayTcpPort)]),
        ...publicIps,
        ...tls,
        ...coordinatorArgs,
      ],
      { name: 'coordinator' },
    );
    await waitUntil(
      'the coordinator answers',
      async () => {
        const ca = this.tlsCert !== null ? ['--cacert', this.tlsCert] : [];
        const r = await this.coordNs.exec(['curl', '-sfg', ...ca, `${this.url}/v1/info`], {
          allowFailure: true,
          timeoutMs: 3000,
        });
        return r.code === 0 ? true : undefined;
      },
      20_000,
      200,
    );
    // Everyone tagged `lab` may ping and open TCP to everyone else.
    const policy = this.topo.writeFile(
      'policy.json',
      JSON.stringify({
        Tags: ['lab'],
        Policies: [
          {
            Name: 'lab',
            Senders: ['tag:lab'],
            Receivers: ['tag:lab'],
            Acls: [{ Protocol: 'icmp' }, { Protocol: 'tcp' }, { Protocol: 'udp' }],
          },
        ],
      }),
    );
    const r = await this.coordinatorCli(['policy', 'apply', policy]);
    assert.equal(r.code, 0, `policy apply: ${r.stdout}${r.stderr}`);
  }

  coordinatorCli(args: string[]) {
    return this.coordNs.exec(
      [process.execPath, join(repoRoot(), 'bin', 'warren-coordinator'), ...args, '--data', this.dataDir],
      { allowFailure: true, timeoutMs: 20_000 },
    );
  }

  // attach6 plugs ns into the public switch with only an IPv6 address (nodad: usable at once,
  // without waiting for duplicate address detection).
  private async attach6(ns: Namespace, ip: string): Promise<Link> {
    const l = await this.topo.attach(ns, this.sw);
    await ns.exec(['ip', '-6', 'addr', 'add', `${ip}/64`, 'dev', l.aIf, 'nodad']);
    return l;
  }

  /** addPublicHost puts a host straight on the public IPv6 network (a lab made with family 6):
   * a global address, no NAT, and no IPv4 unless ipv4 (CIDR) gives it one on the same link. */
  async addPublicHost(name: string, ipv4?: string): Promise<LabHost> {
    assert.equal(this.family, 6, 'public hosts are for the IPv6 lab');
    const ns = await this.topo.addNamespace(name);
    const ip = `${LAB6.prefix}${++this.publicHosts}`;
    const l = await this.attach6(ns, ip);
    if (ipv4 !== undefined) await ns.exec(['ip', 'addr', 'add', ipv4, 'dev', l.aIf]);
    const site: Site = { name, router: ns, publicIp: ip, publicIf: l.aIf, lanPrefix: '', lanIf: l.aIf, hosts: 1 };
    return { name, ns, lanIp: ip, site };
  }

  /** addSite makes a NAT router with a public address and a private /24 behind it. */
  async addSite(name: string, behaviour: NatBehaviour): Promise<Site> {
    const n = ++this.sites;
    const router = await this.topo.addNamespace(`r${name}`);
    const publicIp = `203.0.113.${n}`;
    const up = await this.topo.attach(router, this.sw, `${publicIp}/24`);
    await this.topo.enableForwarding(router);
    const masq = ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', up.aIf, '-j', 'MASQUERADE'];
    if (behaviour === 'symmetric') masq.push('--random');
    await router.exec(masq);
    const site: Site = { name, router, publicIp, publicIf: up.aIf, lanPrefix: `10.${n}.0`, lanIf: '', hosts: 0 };
    // Like a home router: nothing may start a conversation with the router itself from outside.
    // Without this, a peer's probe that arrives before our own first packet creates a conntrack
    // entry for the router's port, and MASQUERADE then moves our mapping to another port.
    await router.exec(['iptables', '-A', 'INPUT', '-i', up.aIf, '-p', 'udp', '-j', 'DROP']);
    if (behaviour === 'udp-blocked') {
      await router.exec(['iptables', '-A', 'FORWARD', '-o', up.aIf, '-p', 'udp', '-j', 'DROP']);
    }
    return site;
  }

  /** addHost puts a host on a site's LAN (the router is .1, hosts from .2). */
  async addHost(site: Site, name: string): Promise<LabHost> {
    const ns = await this.topo.addNamespace(name);
    const lanIp = `${site.lanPrefix}.${site.hosts + 2}`;
    if (site.hosts === 0) {
      // The LAN is a bridge in the router, so several hosts can share it.
      const br = this.topo.ifname('b');
      await site.router.exec(['ip', 'link', 'add', br, 'type', 'bridge']);
      await site.router.exec(['ip', 'addr', 'add', `${site.lanPrefix}.1/24`, 'dev', br]);
      await site.router.exec(['ip', 'link', 'set', br, 'up']);
      site.lanIf = br;
    }
    const l = await this.topo.link(ns, site.router, `${lanIp}/24`);
    await site.router.exec(['ip', 'link', 'set', l.bIf, 'master', site.lanIf]);
    await ns.exec(['ip', 'route', 'add', 'default', 'via', `${site.lanPrefix}.1`]);
    site.hosts++;
    return { name, ns, lanIp, site };
  }

  async createKey(): Promise<string> {
    const r = await this.coordinatorCli([
      'keys',
      'create',
      '--tags',
      'lab',
      '--approval',
      'automatic',
      '--uses',
      '50',
      '--expires',
      '1h',
      '--json',
    ]);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { key: string }).key;
  }

  /** coordinatorKey is the key a person enrolling over plain http:// must be given (`warren-coordinator key`). */
  async coordinatorKey(): Promise<string> {
    const r = await this.coordinatorCli(['key', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { publicKey: string }).publicKey;
  }

  /** enrolAndStart enrols the host's helper and starts it. */
  async enrolAndStart(h: LabHost, key: string, extraEnv?: NodeJS.ProcessEnv): Promise<Warren> {
    // Spawned processes get env in place of the environment, so it carries the rest of it along.
    const env = this.tlsCert !== null ? { ...process.env, ...extraEnv, NODE_EXTRA_CA_CERTS: this.tlsCert } : extraEnv;
    const profile = this.topo.file(`${h.name}.profile`);
    const stateDir = this.topo.file(`warren-${h.name}-state`);
    mkdirSync(stateDir, { recursive: true, mode: 0o700 });
    const r = await warrenCli(
      h.ns,
      [
        'enrol',
        '--coordinator',
        this.dualStack && h.site.lanPrefix !== '' ? LAB.url : this.url,
        '--key',
        key,
        '--coordinator-key',
        await this.coordinatorKey(),
        '--profile',
        profile,
        '--state-dir',
        stateDir,
        '--hostname',
        h.name,
        '--port',
        '51820',
      ],
      { timeoutMs: 30_000, ...(this.tlsCert !== null ? { env } : {}) },
    );
    assert.equal(r.code, 0, `${h.name} enrol: ${r.stdout}${r.stderr}`);
    const p = readProfile(profile);
    h.vip = p.profile.virtualAddress;
    h.identity = p.profile.identity;
    h.publicKey = p.profile.publicKey.toString('base64');
    h.w = await startWarren(
      h.ns,
      { ...p.json, Adapter: { Name: this.topo.ifname('w') } },
      { name: `warren-${h.name}`, verbosity: Number(process.env.WARREN_E2E_VERBOSITY ?? 2), ...(env ? { env } : {}) },
    );
    return h.w;
  }

  async stop(): Promise<void> {
    await this.coord?.stop(2000);
  }
}

/** peerOf returns a's status entry for b. */
export async function peerOf(a: LabHost, b: LabHost): Promise<{ status: Status; peer: PeerStatus }> {
  const status = await a.w!.status();
  const peer = status.peers.find((p) => p.publicKey === b.publicKey);
  if (!peer) throw new Error(`${a.name} has no peer ${b.name} in status`);
  return { status, peer };
}

/** waitForPath waits until a reaches b by the given path type, and returns that peer entry. */
export function waitForPath(a: LabHost, b: LabHost, type: 'direct' | 'relay', timeoutMs = 20_000): Promise<PeerStatus> {
  return waitUntil(
    `${a.name} → ${b.name} path ${type}`,
    async () => {
      const { peer } = await peerOf(a, b);
      return peer.path?.type === type && peer.path.rttMs !== null ? peer : undefined;
    },
    timeoutMs,
    250,
  );
}
