// nodeScript builds the argv that runs one of the harness's small Node programs (tcp-sink,
// tcp-source, udp-fuzz, udp-relay, delay-proxy, handshake-flood, full-tunnel-driver) inside a namespace: the
// compiled .js beside this module, or, when the harness itself runs from .ts under tsx, the .ts
// source through tsx.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** nodeScript returns [node, ...flags, script] for a harness program name. */
export function nodeScript(
  name:
    | 'tcp-sink'
    | 'tcp-source'
    | 'tcp-probe'
    | 'udp-echo'
    | 'udp-fuzz'
    | 'udp-relay'
    | 'delay-proxy'
    | 'handshake-flood'
    | 'full-tunnel-driver',
): string[] {
  const here = fileURLToPath(import.meta.url);
  const dir = dirname(here);
  if (here.endsWith('.js')) {
    const js = join(dir, `${name}.js`);
    if (!existsSync(js)) throw new Error(`${js} is missing; run npm run build`);
    return [process.execPath, js];
  }
  return [process.execPath, '--import', import.meta.resolve('tsx'), join(dir, `${name}.ts`)];
}
