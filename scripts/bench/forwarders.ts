// The forwarders that scripts/bench/proxy-cpu.ts and proxy-stall.ts put between a client and a
// server on loopback: the helper's splice() (run by proxy-cpu.js's `forward` mode) and the C
// references splice-ref.c (splicing and copying) and sockmap-ref.c (BPF sockmap), each compiled
// on the spot. A reference is left out without `cc`; the sockmap one also without CAP_BPF.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = dirname(fileURLToPath(import.meta.url));

export interface Path {
  name: string;
  port: number;
  /** argv of the forwarder; none for the direct path. */
  argv?: string[];
}

/** referenceBinary compiles scripts/bench/NAME.c into dir, or returns null without a C compiler. */
function referenceBinary(dir: string, name: string, extra: string[] = []): string | null {
  const bench = join(HERE, '..', '..', '..', 'scripts', 'bench');
  const out = join(dir, name);
  const srcs = [join(bench, `${name}.c`), ...extra.map((f) => join(bench, f))];
  const r = spawnSync('cc', ['-O2', '-o', out, ...srcs, '-lpthread'], { stdio: 'inherit' });
  return r.status === 0 ? out : null;
}

/**
 * forwarderPaths lists the direct path to serverPort and one path per forwarder (ports
 * serverPort+1..+4), compiling the references into dir. withCopy adds the copying reference.
 */
export function forwarderPaths(dir: string, serverPort: number, withCopy: boolean): Path[] {
  const ref = referenceBinary(dir, 'splice-ref');
  const sockmapRef = referenceBinary(dir, 'sockmap-ref', ['sockmap-bpf.c']);
  const pump = join(HERE, 'proxy-cpu.js');
  const at = (n: number): string => String(serverPort + n);
  const paths: Path[] = [
    { name: 'direct', port: serverPort },
    { name: 'pump', port: serverPort + 1, argv: [process.execPath, pump, 'forward', at(1)] },
  ];
  if (ref !== null) {
    paths.push({ name: 'c-splice', port: serverPort + 2, argv: [ref, at(2), String(serverPort), '262144'] });
    if (withCopy) {
      paths.push({ name: 'c-copy', port: serverPort + 3, argv: [ref, at(3), String(serverPort), '0', 'copy'] });
    }
  }
  if (sockmapRef !== null) {
    paths.push({ name: 'c-sockmap', port: serverPort + 4, argv: [sockmapRef, at(4), String(serverPort)] });
  }
  return paths;
}

/** start runs argv and resolves once it prints its {"listening":...} line. */
function start(argv: string[]): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const [cmd = '', ...args] = argv;
    const p = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'inherit'] });
    p.once('error', reject);
    p.once('exit', (code) => reject(new Error(`${cmd} exited (${code}) before listening`)));
    p.stdout?.once('data', () => resolve(p));
  });
}

/**
 * startForwarders starts every path's forwarder (pushing it onto procs, for the caller to kill)
 * and returns their pids by name. The sockmap reference is dropped from paths if it cannot run.
 */
export async function startForwarders(paths: Path[], procs: ChildProcess[]): Promise<Map<string, number>> {
  const pids = new Map<string, number>();
  for (const p of [...paths]) {
    if (p.argv === undefined) continue;
    const c = await start(p.argv).catch((e: Error) => {
      // Without CAP_BPF (or on a kernel without sockmap) the sockmap reference cannot run.
      if (p.name !== 'c-sockmap') throw e;
      process.stderr.write(`${p.name} left out: ${e.message}\n`);
      paths.splice(paths.indexOf(p), 1);
      return null;
    });
    if (c === null) continue;
    procs.push(c);
    if (c.pid !== undefined) pids.set(p.name, c.pid);
  }
  return pids;
}

/** startServer runs argv (a server) as startForwarders runs a forwarder. */
export async function startServer(argv: string[], procs: ChildProcess[]): Promise<ChildProcess> {
  const s = await start(argv);
  procs.push(s);
  return s;
}
