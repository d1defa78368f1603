// Topology: network namespaces, veth links and bridges for one e2e run, plus every process
// started in them, all removed by destroy() or, if the test process dies first, by the exit
// and signal hooks installed here (and by cleanupStale in a later run).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { exec, TrackedProcess, type ExecOptions, type ExecResult } from './process.js';
import {
  KEPT_LOGS_MARKER,
  MAX_IFNAME,
  PREFIX,
  cleanupStale,
  deleteNamespaceSync,
  newRunId,
  removeWgSocketsSync,
} from './names.js';

/** Namespace is one network namespace of a topology. */
export class Namespace {
  constructor(
    readonly topo: Topology,
    readonly name: string,
    readonly short: string,
  ) {}

  /** exec runs argv inside this namespace. */
  exec(argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    return this.topo.exec(this, argv, opts);
  }

  /** spawn starts a tracked process inside this namespace. */
  spawn(argv: readonly string[], opts?: SpawnOptions): TrackedProcess {
    return this.topo.spawn(this, argv, opts);
  }

  toString(): string {
    return this.name;
  }
}

/** SpawnOptions name the log file and set the environment. */
export interface SpawnOptions {
  name?: string;
  env?: NodeJS.ProcessEnv;
}

/** Link is a veth pair: aIf lives in a, bIf in b. */
export interface Link {
  a: Namespace;
  b: Namespace;
  aIf: string;
  bIf: string;
}

/** Switch is a bridge inside its own namespace that hosts attach to (a small "internet"). */
export interface Switch {
  ns: Namespace;
  bridge: string;
}

const live = new Set<Topology>();
let hooksInstalled = false;

function installHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  process.on('exit', () => {
    for (const t of live) t.destroySync();
  });
  for (const [sig, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
    ['SIGHUP', 129],
  ] as const) {
    process.on(sig, () => {
      for (const t of live) t.destroySync();
      process.exit(code);
    });
  }
}

/** Topology owns the namespaces, links, processes and temp dir of one run. */
export class Topology {
  readonly id: string;
  readonly prefix: string;
  /** dir holds logs, profiles and keys; kept after destroy when WARREN_E2E_KEEP_LOGS=1. */
  readonly dir: string;
  private readonly namespaces: Namespace[] = [];
  private readonly processes: TrackedProcess[] = [];
  private readonly ifCounters = new Map<string, number>();
  private spawnCount = 0;
  private destroyed = false;

  private constructor(base: string) {
    this.id = newRunId();
    this.prefix = `${base}${this.id}`;
    this.dir = mkdtempSync(join(tmpdir(), `${this.prefix}-`));
    live.add(this);
    installHooks();
  }

  /** create removes leftovers of dead runs and starts a new, empty topology whose names start
   * with base (PREFIX, or CONFORMANCE_PREFIX for the WireGuard conformance suite). */
  static create(base: string = PREFIX): Topology {
    cleanupStale();
    return new Topology(base);
  }

  /** ifname returns a fresh interface name `<prefix>-<kind><n>` that fits IFNAMSIZ. */
  ifname(kind: string): string {
    const n = this.ifCounters.get(kind) ?? 0;
    this.ifCounters.set(kind, n + 1);
    const name = `${this.prefix}-${kind}${n.toString(36)}`;
    if (name.length > MAX_IFNAME) throw new Error(`interface name ${name} is longer than ${MAX_IFNAME}`);
    return name;
  }

  /** file returns a path inside the run dir. */
  file(name: string): string {
    return join(this.dir, name);
  }

  /** writeFile writes a private (0600) file into the run dir and returns its path. */
  writeFile(name: string, content: string): string {
    const p = this.file(name);
    writeFileSync(p, content, { mode: 0o600 });
    return p;
  }

  /** addNamespace creates `<prefix>-<short>` with lo up. */
  async addNamespace(short: string): Promise<Namespace> {
    this.assertLive();
    const ns = new Namespace(this, `${this.prefix}-${short}`, short);
    await exec(['ip', 'netns', 'add', ns.name]);
    this.namespaces.push(ns);
    await this.exec(ns, ['ip', 'link', 'set', 'lo', 'up']);
    return ns;
  }

  /** link joins a and b with a veth pair, assigns the optional CIDR addresses and brings both
   * ends up. The pair is created directly inside the namespaces, so it never touches the
   * root namespace and goes away with them. */
  async link(a: Namespace, b: Namespace, aAddr?: string, bAddr?: string): Promise<Link> {
    const aIf = this.ifname('v');
    const bIf = this.ifname('v');
    await exec(['ip', 'link', 'add', aIf, 'netns', a.name, 'type', 'veth', 'peer', 'name', bIf, 'netns', b.name]);
    await this.upWithAddr(a, aIf, aAddr);
    await this.upWithAddr(b, bIf, bAddr);
    return { a, b, aIf, bIf };
  }

  /** addSwitch creates a namespace holding one bridge. */
  async addSwitch(short: string): Promise<Switch> {
    const ns = await this.addNamespace(short);
    const bridge = this.ifname('b');
    await this.exec(ns, ['ip', 'link', 'add', bridge, 'type', 'bridge']);
    await this.exec(ns, ['ip', 'link', 'set', bridge, 'up']);
    return { ns, bridge };
  }

  /** attach plugs host into the switch with address addr (CIDR) and returns the host's side. */
  async attach(host: Namespace, sw: Switch, addr?: string): Promise<Link> {
    const l = await this.link(host, sw.ns, addr);
    await this.exec(sw.ns, ['ip', 'link', 'set', l.bIf, 'master', sw.bridge]);
    return l;
  }

  /** enableForwarding turns a namespace into an IPv4 router. */
  async enableForwarding(ns: Namespace): Promise<void> {
    await this.exec(ns, ['sysctl', '-q', '-w', 'net.ipv4.ip_forward=1']);
  }

  /** exec runs argv in ns (`ip netns exec`), with output captured. */
  exec(ns: Namespace | string, argv: readonly string[], opts?: ExecOptions): Promise<ExecResult> {
    const name = typeof ns === 'string' ? ns : ns.name;
    return exec(['ip', 'netns', 'exec', name, ...argv], opts);
  }

  /** spawn starts argv in ns as a tracked process, logging to `<dir>/<name>.log`. */
  spawn(ns: Namespace | string, argv: readonly string[], opts: SpawnOptions = {}): TrackedProcess {
    this.assertLive();
    const nsName = typeof ns === 'string' ? ns : ns.name;
    const n = this.spawnCount++;
    const name = opts.name ?? `${n}-${basename(argv[0] ?? 'proc')}`;
    const p = new TrackedProcess(name, ['ip', 'netns', 'exec', nsName, ...argv], this.file(`${name}.log`), opts.env);
    this.processes.push(p);
    return p;
  }

  /** destroy stops every tracked process (SIGTERM, SIGKILL after 3 s), deletes every namespace
   * (and with them their links) and removes the run's files. Safe to call twice. */
  async destroy(): Promise<void> {
    if (this.destroyed) return;
    await Promise.all(this.processes.map((p) => p.stop(3000)));
    this.destroySync();
  }

  /** destroySync is destroy for exit hooks: SIGKILL, no waiting. */
  destroySync(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    live.delete(this);
    for (const p of this.processes) p.signal('SIGKILL');
    for (const ns of this.namespaces) deleteNamespaceSync(ns.name);
    removeWgSocketsSync(this.prefix);
    if (process.env.WARREN_E2E_KEEP_LOGS === '1') {
      writeFileSync(
        join(this.dir, KEPT_LOGS_MARKER),
        'kept by WARREN_E2E_KEEP_LOGS=1: remove this directory by hand\n',
      );
      process.stderr.write(`e2e: logs kept in ${this.dir}\n`);
      return;
    }
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** namespaceNames lists the full names of the namespaces created so far. */
  namespaceNames(): string[] {
    return this.namespaces.map((n) => n.name);
  }

  private async upWithAddr(ns: Namespace, ifname: string, addr?: string): Promise<void> {
    if (addr !== undefined) await this.exec(ns, ['ip', 'addr', 'add', addr, 'dev', ifname]);
    await this.exec(ns, ['ip', 'link', 'set', ifname, 'up']);
  }

  private assertLive(): void {
    if (this.destroyed) throw new Error(`topology ${this.id} is destroyed`);
  }
}
