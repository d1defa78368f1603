// The helper's logger: one line per event, `TIMESTAMP LEVEL message`, filtered by the -v level
// of `warren run` (0-5). Messages may carry text from the network or a profile, so control
// characters are escaped: a peer must not be able to forge log lines.

/**
 * LogLevel names the six levels; VERBOSITY_OF says from which -v level each is written.
 * `verbose` (-v 2) is for one line per decision about a connection (proxy verdicts, ingress
 * accepts): more than a quiet service wants, never per packet or per byte.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'verbose' | 'debug' | 'trace';
export const VERBOSITY_OF: Record<LogLevel, number> = { error: 0, warn: 0, info: 1, verbose: 2, debug: 3, trace: 5 };

/** MIN_VERBOSITY, MAX_VERBOSITY and DEFAULT_VERBOSITY bound `-v N`. */
export const MIN_VERBOSITY = 0;
export const MAX_VERBOSITY = 5;
export const DEFAULT_VERBOSITY = 1;

/** LogSink is where lines go (process.stderr, or an array-backed sink in tests). */
export interface LogSink {
  write(line: string): unknown;
}

/** LogMethods are the level methods shared by Logger and its rate-limited views. */
export interface LogMethods {
  error(message: string): void;
  warn(message: string): void;
  info(message: string): void;
  verbose(message: string): void;
  debug(message: string): void;
  trace(message: string): void;
}

/** Logger writes filtered, timestamped lines. */
export interface Logger extends LogMethods {
  readonly verbosity: number;
  /** enabled lets hot paths skip building a message that would be dropped. */
  enabled(level: LogLevel): boolean;
  /**
   * rateLimited returns methods that write at most one line per intervalMs for this key;
   * the next line written says how many were suppressed. For per-packet logs, e.g.
   * `log.rateLimited('drop:' + reason, 1000).debug(...)`.
   */
  rateLimited(key: string, intervalMs: number): LogMethods;
}

/** MAX_RATE_KEYS bounds the rate limiter's table; keys may be derived from network input. */
export const MAX_RATE_KEYS = 1024;

interface RateState {
  last: number;
  suppressed: number;
}

/** createLogger makes a logger; now is injectable for tests. */
export function createLogger(verbosity: number, sink: LogSink = process.stderr, now: () => number = Date.now): Logger {
  const rates = new Map<string, RateState>();
  const enabled = (level: LogLevel): boolean => verbosity >= VERBOSITY_OF[level];
  const write = (level: LogLevel, message: string): void => {
    if (!enabled(level)) return;
    sink.write(`${new Date(now()).toISOString()} ${level.toUpperCase()} ${escapeControl(message)}\n`);
  };
  const methods = (emit: (level: LogLevel, message: string) => void): LogMethods => ({
    error: (m) => emit('error', m),
    warn: (m) => emit('warn', m),
    info: (m) => emit('info', m),
    verbose: (m) => emit('verbose', m),
    debug: (m) => emit('debug', m),
    trace: (m) => emit('trace', m),
  });

  const rateLimited = (key: string, intervalMs: number): LogMethods =>
    methods((level, message) => {
      if (!enabled(level)) return;
      const t = now();
      let st = rates.get(key);
      if (st && t - st.last < intervalMs) {
        st.suppressed++;
        return;
      }
      if (!st) {
        if (rates.size >= MAX_RATE_KEYS) {
          // Maps iterate in insertion order: drop the oldest key.
          const oldest = rates.keys().next().value;
          if (oldest !== undefined) rates.delete(oldest);
        }
        st = { last: t, suppressed: 0 };
        rates.set(key, st);
      }
      const note = st.suppressed > 0 ? ` (${st.suppressed} similar suppressed)` : '';
      st.last = t;
      st.suppressed = 0;
      write(level, message + note);
    });

  return { verbosity, enabled, rateLimited, ...methods(write) };
}

/** escapeControl replaces C0/C1 control characters so that one message stays one line. */
export function escapeControl(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => {
    if (c === '\n') return '\\n';
    if (c === '\r') return '\\r';
    if (c === '\t') return '\\t';
    return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`;
  });
}
