// ip runs iproute2 (`ip`), the standard Linux tool for links, addresses and routes, and turns
// its failures into errors that say which change failed and why.
import { mustRunSync, runCommandSync } from '../../../src-shared/lib/command.js';

/** ip runs `ip ARGS...` and returns stdout; it throws with ip's own message on failure. */
export function ip(args: string[]): string {
  return mustRunSync('ip', args, 'the `ip` command (iproute2) is missing: install the iproute2 package');
}

/** ipQuiet runs `ip ARGS...` and reports success instead of throwing (used for cleanup). */
export function ipQuiet(args: string[]): boolean {
  return runCommandSync('ip', args).ok;
}

/** linkExists says whether a network interface of that name exists in this namespace. */
export function linkExists(name: string): boolean {
  return ipQuiet(['link', 'show', 'dev', name]);
}
