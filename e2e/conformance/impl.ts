// The WireGuard implementation the conformance suite drives, chosen in this one place by the
// environment: WG_IMPL=warren-wg (the default: Warren's data plane alone, `bin/warren-wg` of
// this checkout), WG_IMPL=wireguard-go (Debian's /usr/bin/wireguard-go, the reference used to
// validate the suite) or WG_IMPL=/path/to/binary (anything with wireguard-go's command line).
// Every implementation is started as `IMPL [-f] IFNAME`, serves the cross-platform userspace
// API on /var/run/wireguard/IFNAME.sock and is configured only through wg(8) and ip(8).
import { chmodSync, existsSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { describe, test } from 'node:test';
import {
  missingRequirement,
  repoRoot,
  sleep,
  type Namespace,
  type Topology,
  type TrackedProcess,
} from '../netns/index.js';

/** SOCK_DIR holds the UAPI sockets of userspace WireGuard implementations. */
export const SOCK_DIR = '/var/run/wireguard';

/** Impl is one implementation: a display name and the argv prefix that runs it. */
export interface Impl {
  name: string;
  argv: string[];
  /** missing says why it cannot run on this checkout, or is undefined when it can. */
  missing?: string;
}

/** warrenWgPath is this checkout's launcher of warren-wg. */
export function warrenWgPath(): string {
  return join(repoRoot(), 'bin', 'warren-wg');
}

/** wireguardGo is Debian's wireguard-go, the reference implementation. */
export const wireguardGo: Impl = { name: 'wireguard-go', argv: ['wireguard-go'] };

/** implUnderTest resolves WG_IMPL. */
export function implUnderTest(): Impl {
  const sel = process.env.WG_IMPL ?? 'warren-wg';
  if (sel === 'wireguard-go') return wireguardGo;
  if (sel === 'warren-wg') {
    const bin = warrenWgPath();
    // warren-wg is a Node script; run it with this Node so the exec bit and PATH do not matter.
    return {
      name: 'warren-wg',
      argv: [process.execPath, bin],
      ...(existsSync(bin)
        ? {}
        : { missing: `warren-wg is not in this checkout yet (${bin} is missing); set WG_IMPL=wireguard-go` }),
    };
  }
  if (sel.includes('/')) {
    return {
      name: basename(sel),
      argv: [sel],
      ...(existsSync(sel) ? {} : { missing: `WG_IMPL=${sel} does not exist` }),
    };
  }
  throw new Error(`WG_IMPL=${sel}: expected warren-wg, wireguard-go or a path to an executable`);
}

/** describeConformance is node:test's describe for a conformance scenario: it registers one
 * skipped test with the reason when the machine lacks what the scenario needs (root, binaries)
 * or the implementation under test is not in this checkout, so the skip is visible. */
export function describeConformance(
  name: string,
  binaries: string[],
  opts: { timeout?: number },
  fn: (impl: Impl) => void,
): void {
  const impl = implUnderTest();
  const title = `${name} [${impl.name}]`;
  const reason = missingRequirement({ binaries: ['wg', ...binaries] }) ?? impl.missing;
  if (reason !== undefined) {
    test(title, { skip: reason }, () => {
      /* skipped */
    });
    return;
  }
  describe(title, opts, () => fn(impl));
}

/** Device is one running instance: its interface name, UAPI socket and process. */
export interface Device {
  impl: Impl;
  ifname: string;
  sock: string;
  proc: TrackedProcess;
}

/** logLevel is the LOG_LEVEL given to every instance: WG_LOG_LEVEL, else errors only. */
function logLevel(): string {
  return process.env.WG_LOG_LEVEL ?? 'error';
}

/** startDevice runs `IMPL -f IFNAME` in ns (stopped by the topology through its pid) and waits
 * until both the interface (in ns) and the UAPI socket exist. */
export async function startDevice(ns: Namespace, ifname: string, impl: Impl): Promise<Device> {
  const proc = ns.spawn([...impl.argv, '-f', ifname], {
    name: `${impl.name}-${ifname}`,
    env: { ...process.env, LOG_LEVEL: logLevel() },
  });
  const sock = `${SOCK_DIR}/${ifname}.sock`;
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (!proc.running) throw new Error(`${impl.name} ${ifname} exited early:\n${proc.output()}`);
    if (existsSync(sock)) {
      const link = await ns.exec(['ip', 'link', 'show', 'dev', ifname], { allowFailure: true });
      if (link.code === 0) break;
    }
    if (Date.now() > deadline) {
      throw new Error(`${impl.name} ${ifname}: no interface and socket after 15 s:\n${proc.output()}`);
    }
    await sleep(20);
  }
  return { impl, ifname, sock, proc };
}

/** wgQuickUserspaceCommand is the value of WG_QUICK_USERSPACE_IMPLEMENTATION for impl.
 * wg-quick runs it as one word (`"$WG_QUICK_USERSPACE_IMPLEMENTATION" IFNAME`), so an
 * implementation that needs an interpreter gets a two-line wrapper script in the run dir. */
export function wgQuickUserspaceCommand(topo: Topology, impl: Impl): string {
  if (impl.argv.length === 1 && impl.argv[0] !== undefined) return impl.argv[0];
  const quoted = impl.argv.map((a) => `'${a.replaceAll("'", `'\\''`)}'`).join(' ');
  const path = topo.file(`${impl.name}-wrapper`);
  writeFileSync(path, `#!/bin/sh\nexec ${quoted} "$@"\n`);
  chmodSync(path, 0o755);
  return path;
}
