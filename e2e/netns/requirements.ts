// missingRequirement: why an e2e scenario cannot run here (for node:test's skip), or
// undefined when it can. Scenarios never pass silently on a machine that cannot run them.
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { describe, test } from 'node:test';
import { warrenCliPath } from './warren.js';

/** onPath reports whether an executable named bin is on PATH. */
export function onPath(bin: string): boolean {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    try {
      accessSync(join(dir, bin), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** Needs lists what a scenario uses beyond root and /dev/net/tun. */
export interface Needs {
  binaries?: string[];
  /** warren: the scenario runs the helper, so its compiled CLI must exist. */
  warren?: boolean;
}

/** missingRequirement returns a printable skip reason, or undefined if all is there. */
export function missingRequirement(needs: Needs = {}): string | undefined {
  if (process.platform !== 'linux') return 'e2e tests need Linux network namespaces';
  if (process.getuid?.() !== 0) return 'e2e tests need root (network namespaces, TUN devices)';
  if (!existsSync('/dev/net/tun')) return 'e2e tests need /dev/net/tun';
  for (const bin of ['ip', ...(needs.binaries ?? [])]) {
    if (!onPath(bin)) return `e2e test needs \`${bin}\` on PATH`;
  }
  if (needs.warren) {
    const cli = warrenCliPath();
    if (!existsSync(cli)) return `the Warren helper is not built (${cli} is missing; run npm run build)`;
  }
  return undefined;
}

/** describeE2E is node:test's describe for a scenario that needs this machine to have what
 * `needs` lists. When something is missing it registers one skipped test carrying the reason,
 * so the skip shows in the run's skip count and output instead of vanishing with the suite. */
export function describeE2E(name: string, needs: Needs, opts: { timeout?: number }, fn: () => void): void {
  const reason = missingRequirement(needs);
  if (reason !== undefined) {
    test(name, { skip: reason }, () => {
      /* skipped */
    });
    return;
  }
  describe(name, opts, fn);
}
