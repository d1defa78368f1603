// LoginRuntime: signing in through the local API (POST /v1/login; the app's "Sign in",
// docs/app.md). The helper asks the coordinator to start a login (control/login.ts, as
// `warren login` does) and answers the caller at once with the URL to open and the code to
// compare; it then waits for the person in the background and writes the profile as
// `warren login` would. How it goes is Status.login, so the app's event stream shows it.
// One sign-in at a time: a second is refused while one waits, and a waiting one ends after
// LOGIN_LIMITS.pendingMs, when the coordinator forgets it too.
import { ApiHttpError } from '../api/server.js';
import { readProfile } from '../config/load.js';
import { formatKey } from '../../../src-shared/lib/keys.js';
import { beginLogin, LoginCancelled, type LoginBegun, type LoginOutcome } from '../control/login.js';
import { InsecureEnrolment, insecureRefusal } from '../control/enrol.js';
import type { LoginAnswer, LoginRequest } from '../../../src-shared/wire/helper-api.js';
import { LOGIN_LIMITS } from '../../../src-shared/wire/login.js';
import type { LoginProgress } from '../../../src-shared/wire/status.js';

/** LoginRuntimeOptions: where the profile goes, whom to tell about changes, and test seams. */
export interface LoginRuntimeOptions {
  profilePath: string;
  stateDir: string;
  notify(): void;
  /** timeoutMs bounds the wait for the person (default LOGIN_LIMITS.pendingMs). */
  timeoutMs?: number;
  begin?: typeof beginLogin;
  now?: () => number;
}

/** printable keeps a sentence from elsewhere (the coordinator, the provider) to printable ASCII of
 * bounded length: it ends up in a status every local user reads and in the app's window. */
const printable = (s: string, max = 400): string => s.replace(/[^\x20-\x7e]/g, '?').slice(0, max);

/** Current is the sign-in under way (or the last one): what it answered, how it goes, how to
 * cancel it and when it has settled. */
interface Current {
  progress: LoginProgress;
  answer: LoginAnswer;
  abort: AbortController;
  settled: Promise<void>;
}

/** LoginRuntime holds the one sign-in of this helper. */
export class LoginRuntime {
  private current: Current | null = null;
  private starting = false;
  private readonly now: () => number;

  constructor(private readonly opts: LoginRuntimeOptions) {
    this.now = opts.now ?? Date.now;
  }

  /** progress is how the current (or last) sign-in goes, for Status.login. */
  progress(): LoginProgress | undefined {
    return this.current ? { ...this.current.progress, tags: [...this.current.progress.tags] } : undefined;
  }

  /** waiting is the answer of the sign-in under way (GET /v1/login), or null. */
  waiting(): LoginAnswer | null {
    return this.current?.progress.state === 'waiting' ? { ...this.current.answer } : null;
  }

  /** start begins a sign-in and answers with the URL and the code; it throws ApiHttpError 409
   * while another is under way and 422 when the login could not start. */
  async start(req: LoginRequest): Promise<LoginAnswer> {
    if (this.starting || this.current?.progress.state === 'waiting')
      throw new ApiHttpError(
        409,
        'bad-request',
        'a sign-in is already under way on this system: finish it in the browser, cancel it, or wait until it expires ' +
          `(${Math.round((this.opts.timeoutMs ?? LOGIN_LIMITS.pendingMs) / 60_000)} minutes after it started)`,
      );
    this.starting = true;
    const abort = new AbortController();
    let begun: LoginBegun;
    try {
      begun = await (this.opts.begin ?? beginLogin)({
        coordinator: req.coordinator,
        provider: req.provider ?? '',
        ...keyOf(req, this.opts.profilePath),
        ...(req.insecure === true ? { insecure: true } : {}),
        profilePath: this.opts.profilePath,
        stateDir: this.opts.stateDir,
        timeoutMs: Math.min(this.opts.timeoutMs ?? LOGIN_LIMITS.pendingMs, LOGIN_LIMITS.pendingMs),
        signal: abort.signal,
      });
    } catch (e) {
      const why =
        e instanceof InsecureEnrolment
          ? insecureRefusal('give it as "coordinatorKey"', 'set "insecure": true to sign in without the check')
          : (e as Error).message;
      throw new ApiHttpError(422, 'bad-request', `sign-in failed: ${why}`);
    } finally {
      this.starting = false;
    }
    const s = begun.started;
    const answer: LoginAnswer = {
      url: s.url,
      code: s.code,
      provider: printable(s.provider, 64),
      expiresAt: s.expiresAt,
    };
    const current: Current = {
      answer,
      abort,
      settled: Promise.resolve(),
      progress: {
        state: 'waiting',
        coordinator: req.coordinator,
        provider: answer.provider,
        startedAt: this.now(),
        expiresAt: Number.isFinite(s.expiresAt) ? s.expiresAt : this.now() + LOGIN_LIMITS.pendingMs,
        user: null,
        identity: null,
        tags: [],
        message: `Waiting for you to sign in with ${answer.provider} in your browser.`,
      } satisfies LoginProgress as LoginProgress,
    };
    this.current = current;
    this.opts.notify();
    current.settled = begun.done.then(
      (o) => this.finish(current, enrolledProgress(current.progress, o)),
      (e: unknown) =>
        this.finish(current, {
          ...current.progress,
          state: e instanceof LoginCancelled ? 'cancelled' : 'refused',
          message: sentence(printable((e as Error)?.message ?? String(e))),
        }),
    );
    return answer;
  }

  /** cancel gives up the sign-in under way, at the coordinator too (control/login.ts), and
   * answers with how that went; it throws ApiHttpError 404 when none is waiting. */
  async cancel(): Promise<{ message: string }> {
    const c = this.current;
    if (c === null || c.progress.state !== 'waiting')
      throw new ApiHttpError(404, 'not-found', 'no sign-in is under way on this system; there is nothing to cancel');
    c.abort.abort();
    await c.settled;
    return { message: this.current?.progress.message ?? 'Cancelled.' };
  }

  // finish records how a sign-in ended, unless a newer one has replaced it meanwhile.
  private finish(which: Current, progress: LoginProgress): void {
    if (this.current !== which) return;
    this.current = { ...which, progress };
    this.opts.notify();
  }
}

/** keyOf is the coordinator key to check: the one given, or else, when the system is enrolled
 * with this very coordinator, the key its profile pinned then (signing in again needs no key
 * the person no longer has at hand, and trusts no more than the profile already does). */
function keyOf(req: LoginRequest, profilePath: string): { coordinatorKey?: string } {
  if (req.coordinatorKey !== undefined) return { coordinatorKey: req.coordinatorKey };
  try {
    const c = readProfile(profilePath).profile.coordinator;
    if (c && c.url.replace(/\/+$/, '') === req.coordinator.replace(/\/+$/, ''))
      return { coordinatorKey: formatKey(c.publicKey) };
  } catch {
    // No profile, or one that does not parse: the request's own choice stands.
  }
  return {};
}

/** sentence starts a message with a capital and ends it with a full stop. */
const sentence = (s: string): string => `${s.charAt(0).toUpperCase()}${s.slice(1)}${/[.!?]$/.test(s) ? '' : '.'}`;

/** enrolledProgress words a completed sign-in: who, as which system, with which tags. */
function enrolledProgress(p: LoginProgress, o: LoginOutcome): LoginProgress {
  const r = o.response;
  const tags = Array.isArray(r.tags) ? r.tags.filter((t) => typeof t === 'string').slice(0, 64) : [];
  const pending = r.state === 'pending';
  return {
    ...p,
    state: 'enrolled',
    user: printable(o.user, 254),
    identity: printable(r.identity, 16),
    tags: tags.map((t) => printable(t, 64)),
    message:
      `Signed in as ${printable(o.user, 254)}: enrolled as ${printable(r.identity, 16)} (${printable(r.virtualAddress, 64)})` +
      `${tags.length ? ` with tags ${tags.map((t) => printable(t, 64)).join(', ')}` : ''}` +
      `${pending ? ', waiting for an administrator to approve it' : ''}. ` +
      'Restart the helper (warren stop, warren start) to join the network.',
  };
}
