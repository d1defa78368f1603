// Running commands for the e2e harness: exec (run to completion, output captured) and
// TrackedProcess (a long-running child whose output goes to a log file and to a bounded
// in-memory tail that callers can wait on).
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';

/** ExecResult is the outcome of a finished command. */
export interface ExecResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** ExecOptions tune exec; by default a non-zero exit throws. */
export interface ExecOptions {
  timeoutMs?: number;
  allowFailure?: boolean;
  input?: string | Buffer;
  env?: NodeJS.ProcessEnv;
}

const MAX_CAPTURE = 8 * 1024 * 1024;

/** exec runs argv to completion and returns its output; it throws (with stderr in the message)
 * on a non-zero exit or timeout unless allowFailure is set. */
export function exec(argv: readonly string[], opts: ExecOptions = {}): Promise<ExecResult> {
  const [cmd, ...args] = argv;
  if (cmd === undefined) return Promise.reject(new Error('exec: empty argv'));
  const timeoutMs = opts.timeoutMs ?? 30_000;
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let outLen = 0;
    let errLen = 0;
    child.stdout.on('data', (b: Buffer) => {
      if (outLen < MAX_CAPTURE) {
        out.push(b);
        outLen += b.length;
      }
    });
    child.stderr.on('data', (b: Buffer) => {
      if (errLen < MAX_CAPTURE) {
        err.push(b);
        errLen += b.length;
      }
    });
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`${argv.join(' ')}: ${e.message}`));
    });
    // As in TrackedProcess: 'exit' decides, 'close' only gets a moment to bring the output.
    let finished = false;
    child.on('exit', (code, signal) => {
      const t = setTimeout(() => done(code, signal), 250);
      child.once('close', () => {
        clearTimeout(t);
        done(code, signal);
      });
    });
    const done = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const r: ExecResult = {
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      };
      if (timedOut) {
        reject(new Error(`${argv.join(' ')}: timed out after ${timeoutMs} ms\n${r.stderr}${r.stdout.slice(-2000)}`));
      } else if (code !== 0 && !opts.allowFailure) {
        reject(new Error(`${argv.join(' ')}: exit ${code ?? signal}\n${r.stderr.trim() || r.stdout.slice(-2000)}`));
      } else {
        resolve(r);
      }
    };
    child.stdin.on('error', () => {
      /* the command may exit before reading its input */
    });
    child.stdin.end(opts.input ?? '');
  });
}

const TAIL_LIMIT = 256 * 1024;

/** TrackedProcess is a spawned child the topology kills on destroy. */
export class TrackedProcess {
  readonly child: ChildProcess;
  readonly name: string;
  readonly logPath: string;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  exitCode: number | null = null;
  exitSignal: NodeJS.Signals | null = null;
  private tail = '';
  private stdoutBuf = '';
  private readonly log: WriteStream;
  private readonly lineListeners = new Set<(line: string) => void>();
  private readonly outputListeners = new Set<() => void>();

  /** constructor spawns argv; stdout and stderr both go to logPath and the tail. */
  constructor(name: string, argv: readonly string[], logPath: string, env?: NodeJS.ProcessEnv) {
    const [cmd, ...args] = argv;
    if (cmd === undefined) throw new Error('spawn: empty argv');
    this.name = name;
    this.logPath = logPath;
    this.log = createWriteStream(logPath, { flags: 'a' });
    this.log.write(`$ ${argv.join(' ')}\n`);
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'], env: env ?? process.env });
    this.child.stdin?.on('error', () => {
      /* ignore EPIPE after exit */
    });
    this.child.stdout?.on('data', (b: Buffer) => this.onData(b, true));
    this.child.stderr?.on('data', (b: Buffer) => this.onData(b, false));
    this.exited = new Promise((resolve) => {
      let settled = false;
      const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
        if (settled) return;
        settled = true;
        this.append(`[exited code=${code} signal=${signal}]\n`);
        this.log.end();
        for (const l of this.outputListeners) l();
        resolve({ code, signal });
      };
      this.child.on('error', (e) => {
        // A spawn failure emits no 'exit'.
        this.append(`spawn error: ${e.message}\n`);
        if (this.child.pid === undefined) {
          this.exitCode = -1;
          finish(-1, null);
        }
      });
      // 'exit' decides, not 'close': a grandchild that inherited our pipes (a daemon the
      // command started) would hold 'close' back forever. Output still in flight gets a
      // moment to arrive before callers read it.
      let closed = false;
      this.child.on('close', () => {
        closed = true;
      });
      this.child.on('exit', (code, signal) => {
        this.exitCode = code;
        this.exitSignal = signal;
        if (closed) return finish(code, signal);
        const t = setTimeout(() => finish(code, signal), 250);
        this.child.once('close', () => {
          clearTimeout(t);
          finish(code, signal);
        });
      });
    });
  }

  /** pid of the child; `ip netns exec` execs in place, so this is the command's own pid. */
  get pid(): number {
    if (this.child.pid === undefined) throw new Error(`${this.name}: not started`);
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === null && this.exitSignal === null;
  }

  /** output returns the last 256 KiB of combined stdout and stderr. */
  output(): string {
    return this.tail;
  }

  /** onLine calls fn for every complete stdout line (stderr is only logged). */
  onLine(fn: (line: string) => void): () => void {
    this.lineListeners.add(fn);
    return () => this.lineListeners.delete(fn);
  }

  /** write sends text to the child's stdin. */
  write(text: string): void {
    this.child.stdin?.write(text);
  }

  /** waitFor resolves with the first match of re in the output; rejects on exit or timeout. */
  waitFor(re: RegExp, timeoutMs = 10_000): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = re.exec(this.tail);
        if (m) {
          done();
          resolve(m);
          return true;
        }
        if (!this.running) {
          done();
          reject(
            new Error(
              `${this.name} exited (code ${this.exitCode}, signal ${this.exitSignal}) before printing ${re}\n${this.tail.slice(-4000)}`,
            ),
          );
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${re} within ${timeoutMs} ms\n${this.tail.slice(-4000)}`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.outputListeners.delete(listener);
      };
      const listener = (): void => {
        check();
      };
      if (!check()) this.outputListeners.add(listener);
    });
  }

  /** stop sends SIGTERM, then SIGKILL after graceMs, and resolves once the child has exited. */
  async stop(graceMs = 3000): Promise<void> {
    if (!this.running || this.child.pid === undefined) {
      await this.exited;
      return;
    }
    this.signal('SIGTERM');
    const timer = setTimeout(() => this.signal('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(timer);
  }

  /** signal delivers sig if the child is still running. */
  signal(sig: NodeJS.Signals): void {
    if (!this.running) return;
    try {
      this.child.kill(sig);
    } catch {
      /* gone */
    }
  }

  private onData(b: Buffer, isStdout: boolean): void {
    const text = b.toString('utf8');
    this.append(text);
    if (isStdout) {
      this.stdoutBuf += text;
      if (this.stdoutBuf.length > TAIL_LIMIT) this.stdoutBuf = '';
      let nl: number;
      while ((nl = this.stdoutBuf.indexOf('\n')) >= 0) {
        const line = this.stdoutBuf.slice(0, nl);
        this.stdoutBuf = this.stdoutBuf.slice(nl + 1);
        for (const l of this.lineListeners) l(line);
      }
    }
    for (const l of this.outputListeners) l();
  }

  private append(text: string): void {
    if (this.log.writable) this.log.write(text);
    this.tail += text;
    if (this.tail.length > TAIL_LIMIT) this.tail = this.tail.slice(-TAIL_LIMIT / 2);
  }
}
