// ip runs iproute2 (`ip`), the standard Linux tool for links, addresses and routes, and turns
// its failures into errors that say which change failed and why.
import { execFileSync } from 'node:child_process';

/** ip runs `ip ARGS...` and returns stdout; it throws with ip's own message on failure. */
export function ip(args: string[]): string {
  try {
    return execFileSync('ip', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10_000 });
  } catch (e) {
    const err = e as { code?: string; stderr?: string; message: string };
    if (err.code === 'ENOENT') throw new Error('the `ip` command (iproute2) is missing: install the iproute2 package');
    const why = (err.stderr ?? '').trim() || err.message;
    throw new Error(`ip ${args.join(' ')}: ${why}`);
  }
}

/** ipQuiet runs `ip ARGS...` and reports success instead of throwing (used for cleanup). */
export function ipQuiet(args: string[]): boolean {
  try {
    ip(args);
    return true;
  } catch {
    return false;
  }
}

/** linkExists says whether a network interface of that name exists in this namespace. */
export function linkExists(name: string): boolean {
  return ipQuiet(['link', 'show', 'dev', name]);
}
