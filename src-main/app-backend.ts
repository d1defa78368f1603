// AppBackend: the main side of the app, shared by the Electron shell and the browser fallback.
// It follows the helper's event stream through src-shared/lib/helper-client/client.ts (the only way the app
// talks to the helper), keeps the AppState, and implements every IPC call of the schema.
// Client errors become Problems here, worded for a person (what happened, what to do).
import {
  ApiClient,
  ApiError,
  HelperNotRunning,
  PermissionDenied,
  UntrustedSocket,
  type ApiClientError,
  type StatusEvent,
  type SubscribeOptions,
  type Subscription,
} from '../src-shared/lib/helper-client/client.js';
import { helperDownFromRecord } from '../src-shared/lib/helper-client/leftovers.js';
import {
  fromStatus,
  helperStoppedProblem,
  initialAppState,
  type AppState,
  type ExitChoice,
  type Problem,
} from '../src-shared/wire/app-state.js';
import { enrolKeyProblem, type IpcHandlers, type WhyView } from '../src-shared/wire/ipc-schema.js';
import type { HelperDownReport } from '../src-shared/wire/leftovers.js';
import { isOpenableUrl, sameCoordinator, type SignInStarted } from '../src-shared/wire/login-view.js';
import type { Status } from '../src-shared/wire/status.js';

/** AppBackendOptions: the helper's socket, and test seams. */
export interface AppBackendOptions {
  socketPath: string;
  client?: ApiClient;
  now?: () => number;
  subscribe?: SubscribeOptions;
  /** helperDown says what a helper that does not answer left behind (default: the readable
   * record beside its socket, src-shared/wire/leftovers.ts). */
  helperDown?: (socketPath: string) => HelperDownReport;
  /** openUrl hands a sign-in URL to the person's browser (xdg-open, Electron's
   * shell.openExternal) and says whether it could; without it the window shows the URL to open. */
  openUrl?: (url: string) => boolean;
}

/** EnrolRefused is an enrolment main refuses before asking the helper (enrolKeyProblem). */
export class EnrolRefused extends Error {}

/** toProblem words any failure of a call to the helper. When the helper does not run,
 * helperDown says what it left on the machine: a kill switch or DNS still in place is the
 * problem then, not merely that the helper is down. */
export function toProblem(e: unknown, helperDown?: (socketPath: string) => HelperDownReport): Problem {
  if (e instanceof EnrolRefused) return { code: 'bad-request', message: e.message };
  if (e instanceof HelperNotRunning) {
    const stopped = helperDown ? helperStoppedProblem(helperDown(e.socketPath)) : null;
    if (stopped !== null) return stopped;
    return {
      code: 'helper-not-running',
      message:
        `The Warren helper is not running (${e.reason === 'no-socket' ? 'no socket at' : 'nothing listens on'} ${e.socketPath}). ` +
        'Start it with `sudo systemctl start warren` (or `sudo warren run`); this window reconnects by itself.',
    };
  }
  if (e instanceof PermissionDenied) {
    return {
      code: 'permission-denied',
      message: `This user may not open ${e.socketPath}. Ask an administrator to add you to the operator group (usually \`warren\`), then log in again.`,
    };
  }
  if (e instanceof UntrustedSocket) return { code: 'untrusted-socket', message: `${e.message}.` };
  if (e instanceof ApiError && e.httpStatus === null) {
    // The connection broke or the answer was unusable: the helper may be restarting.
    return { code: 'helper-error', message: `Lost the connection to the helper (${e.message}); reconnecting…` };
  }
  if (e instanceof ApiError) {
    const code =
      e.httpStatus === 403
        ? 'forbidden'
        : e.httpStatus === 400 || e.httpStatus === 422
          ? 'bad-request'
          : e.httpStatus === 404
            ? 'not-found'
            : 'helper-error';
    return { code, message: e.message };
  }
  return { code: 'internal', message: `internal error in the app: ${(e as Error)?.message ?? String(e)}` };
}

// whyDirection reads detail.egress.allowed (and ingress) when the helper's detail has them.
function whyDirection(detail: unknown, dir: 'egress' | 'ingress'): boolean | null {
  const d = (detail as Record<string, { allowed?: unknown } | undefined> | null)?.[dir];
  return typeof d?.allowed === 'boolean' ? d.allowed : null;
}

/** AppBackend holds the state and answers the renderer's calls. */
export class AppBackend {
  readonly client: ApiClient;
  readonly handlers: IpcHandlers;
  private state: AppState = initialAppState();
  private readonly listeners = new Set<(s: AppState) => void>();
  private sub: Subscription | null = null;
  private readonly now: () => number;

  constructor(private readonly opts: AppBackendOptions) {
    this.client = opts.client ?? new ApiClient(opts.socketPath);
    this.now = opts.now ?? Date.now;
    this.handlers = {
      getState: async () => this.state,
      connect: async () => {
        await this.client.connect();
        await this.refresh();
        return this.state.tunnel;
      },
      disconnect: async () => {
        await this.client.disconnect();
        await this.refresh();
        return this.state.tunnel;
      },
      useExitNode: async ({ identity, use }) => {
        const r = await this.client.useExitNode(identity, use);
        await this.refresh();
        const label = this.state.peers.find((p) => p.identity === r.identity)?.label ?? r.identity;
        const choice: ExitChoice = { identity: r.identity, label, routes: r.routes, inUse: r.inUse };
        return choice;
      },
      why: async ({ peer }) => {
        const w = await this.client.why(peer);
        const view: WhyView = {
          peer,
          text: w.text,
          egress: whyDirection(w.detail, 'egress'),
          ingress: whyDirection(w.detail, 'ingress'),
        };
        return view;
      },
      enrol: async ({ coordinator, key, coordinatorKey, insecure }) => {
        const refused = enrolKeyProblem(coordinator, coordinatorKey, insecure === true);
        if (refused !== null) throw new EnrolRefused(refused);
        const r = (await this.client.enrol({
          coordinator,
          key,
          ...(coordinatorKey !== undefined ? { coordinatorKey } : {}),
          ...(insecure === true ? { insecure } : {}),
        })) as { message?: unknown; state?: unknown } | null;
        await this.refresh().catch(() => undefined);
        const message =
          typeof r?.message === 'string'
            ? r.message
            : `The helper accepted the key for ${coordinator}${typeof r?.state === 'string' ? ` (${r.state})` : ''}.`;
        return { message };
      },
      signIn: (arg) => this.signIn(arg),
      cancelSignIn: async () => {
        const r = (await this.client.cancelLogin()) as { message?: unknown } | null;
        await this.refresh().catch(() => undefined);
        return { message: typeof r?.message === 'string' ? r.message.replace(/[^\x20-\x7e]/g, '?').slice(0, 400) : '' };
      },
    };
  }

  // signIn has the helper start signing in, then hands the URL to the person's browser: only an
  // http(s) URL, whatever the helper (another process) answered.
  private async signIn(arg: {
    coordinator: string;
    coordinatorKey?: string;
    insecure?: boolean;
  }): Promise<SignInStarted> {
    // Signing in again with the coordinator this system is enrolled with: the helper checks the
    // key its profile pinned then (daemon/login-runtime.ts).
    const again = sameCoordinator(this.state.tunnel?.coordinator?.url, arg.coordinator);
    const refused = enrolKeyProblem(arg.coordinator, arg.coordinatorKey, arg.insecure === true || again);
    if (refused !== null) throw new EnrolRefused(refused);
    const r = await this.client.login({
      coordinator: arg.coordinator,
      ...(arg.coordinatorKey !== undefined ? { coordinatorKey: arg.coordinatorKey } : {}),
      ...(arg.insecure === true ? { insecure: true } : {}),
    });
    if (!isOpenableUrl(r?.url) || typeof r.code !== 'string' || !/^[0-9A-Z]{4}-[0-9A-Z]{4}$/.test(r.code))
      throw new Error('the helper answered the sign-in with something other than an http(s) address and a code');
    let opened = false;
    try {
      opened = this.opts.openUrl?.(r.url) ?? false;
    } catch {
      // The window shows the address to open instead.
    }
    await this.refresh().catch(() => undefined);
    return {
      url: r.url,
      code: r.code,
      provider: typeof r.provider === 'string' ? r.provider.replace(/[^\x20-\x7e]/g, '?').slice(0, 64) : '',
      expiresAt: typeof r.expiresAt === 'number' && Number.isFinite(r.expiresAt) ? r.expiresAt : 0,
      opened,
    };
  }

  /** current is the latest state. */
  current(): AppState {
    return this.state;
  }

  /** onState calls listener after every change; it returns the function that stops it. */
  onState(listener: (s: AppState) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  /** start follows the helper's events until stop(). */
  start(): void {
    if (this.sub !== null) return;
    this.sub = this.client.subscribe(
      (e) => this.onEvent(e),
      (e, retry) => this.onError(e, retry),
      this.opts.subscribe,
    );
  }

  /** stop ends the subscription. */
  stop(): void {
    this.sub?.close();
    this.sub = null;
  }

  private async refresh(): Promise<void> {
    this.apply(await this.client.status());
  }

  private onEvent(e: StatusEvent): void {
    this.apply(e.status);
    // Who we are to the helper is asked again after every (re)connect: group membership
    // changes with a new login, and a restarted helper may have a different operator group.
    if (e.kind === 'snapshot') {
      this.client.caller().then(
        (c) =>
          this.set({
            access: {
              privileged: c.privileged,
              operatorGroup: c.operatorGroup,
              operatorGroupExists: c.operatorGroupExists,
            },
          }),
        () => undefined,
      );
    }
  }

  private onError(e: ApiClientError, retryInMs: number): void {
    // A stale picture is worse than none: "Connected" must not stay on screen once the helper
    // is gone, so the tunnel and peers are cleared until it answers again.
    const problem = toProblem(e, this.opts.helperDown ?? helperDownFromRecord);
    this.set({ link: 'down', problem, retryInMs, tunnel: null, peers: [], access: null });
  }

  private apply(status: Status): void {
    const { tunnel, peers } = fromStatus(status, this.now());
    this.set({ link: 'up', problem: null, retryInMs: null, tunnel, peers, updatedAt: this.now() });
  }

  private set(patch: Partial<AppState>): void {
    this.state = { ...this.state, ...patch };
    for (const l of [...this.listeners]) {
      try {
        l(this.state);
      } catch {
        // one broken window must not stop the others
      }
    }
  }
}
