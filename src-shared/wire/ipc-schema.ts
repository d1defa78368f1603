// The one schema of main↔renderer IPC (DESIGN.md convention 4, after mullvad's
// shared/ipc-schema.ts). Every call names a checker for its argument and the type of its
// result; every event the type of its payload. Both sides' typed functions are derived from
// it with mapped types: main implements IpcHandlers, the renderer gets an IpcInvoker. Results
// and errors cross as data ({ok:true,value} | {ok:false,error}), never as thrown exceptions,
// so Electron's invoke and the browser fallback's HTTP carry them the same way. Arguments are
// untrusted where they arrive (main): dispatchCall checks the name and the argument before
// any handler runs. No Node or DOM imports here.
import type { AppState, ExitChoice, Problem } from './app-state.js';
import { ENROL_LIMITS } from './helper-api.js';
import type { SignInStarted } from './login-view.js';

/** Check is a runtime checker: the value's problem as text, or null when it fits. */
export type Check<T> = ((v: unknown) => string | null) & { readonly __type?: T };

/** Returns marks a call's result type (nothing at run time). */
export interface Returns<T> {
  readonly __returns?: T;
}

const returns = <T>(): Returns<T> => ({});

/** checks are the building blocks of argument checkers. */
export const checks = {
  none: ((v: unknown) => (v === undefined ? null : 'this call takes no argument')) as Check<void>,
  string(opts: { min?: number; max: number; pattern?: RegExp; what: string }): Check<string> {
    return (v) => {
      if (typeof v !== 'string') return `${opts.what} must be text`;
      if (v.length < (opts.min ?? 0) || v.length > opts.max)
        return `${opts.what} must be ${opts.min ?? 0} to ${opts.max} characters`;
      if (opts.pattern && !opts.pattern.test(v)) return `${opts.what} is not valid`;
      return null;
    };
  },
  boolean(what: string): Check<boolean> {
    return (v) => (typeof v === 'boolean' ? null : `${what} must be true or false`);
  },
  /** optional lets a field be left out (undefined); a present value must pass check. */
  optional<T>(check: Check<T>): Check<T | undefined> {
    return (v) => (v === undefined ? null : check(v));
  },
  object<S extends Record<string, Check<unknown>>>(shape: S): Check<ObjectOf<S>> {
    return (v) => {
      if (typeof v !== 'object' || v === null || Array.isArray(v)) return 'expected an object';
      for (const k of Object.keys(v))
        if (!Object.hasOwn(shape, k)) return `unexpected field ${JSON.stringify(k.slice(0, 32))}`;
      for (const [k, check] of Object.entries(shape)) {
        const problem = check((v as Record<string, unknown>)[k]);
        if (problem !== null) return problem;
      }
      return null;
    };
  },
};

/** CheckedType is the type a Check accepts. */
export type CheckedType<C> = C extends Check<infer T> ? T : never;

/** OptionalKeys are the fields of a shape whose check accepts undefined (checks.optional). */
type OptionalKeys<S> = { [K in keyof S]: undefined extends CheckedType<S[K]> ? K : never }[keyof S];

/** ObjectOf is the type checks.object accepts: optional checks make optional fields. */
export type ObjectOf<S> = { [K in Exclude<keyof S, OptionalKeys<S>>]: CheckedType<S[K]> } & {
  [K in OptionalKeys<S>]?: CheckedType<S[K]>;
};

/** WhyView is the explanation of traffic with one peer. */
export interface WhyView {
  peer: string;
  text: string;
  /** allowed per direction, when the helper's detail says (null when it does not). */
  egress: boolean | null;
  ingress: boolean | null;
}

/** EnrolOutcome is what the enrol form shows after the helper accepted the key. */
export interface EnrolOutcome {
  message: string;
}

/** COORDINATOR_KEY_PATTERN is a coordinator's public key as `warren-coordinator key` prints it. */
export const COORDINATOR_KEY_PATTERN = /^[A-Za-z0-9+/]{43}=$/;

/**
 * enrolKeyProblem is the rule the form shows and main enforces (the helper enforces it too):
 * over plain http:// nothing proves who answers, so whoever sits on the network path could pose
 * as the coordinator and have its own key pinned. There the coordinator key is required unless
 * the person chose to enrol without the check. null when the enrolment may go ahead.
 */
export function enrolKeyProblem(
  coordinator: string,
  coordinatorKey: string | undefined,
  insecure: boolean,
): string | null {
  if (!/^http:\/\//i.test(coordinator.trim()) || insecure || (coordinatorKey ?? '').trim() !== '') return null;
  return (
    'Over plain http:// anyone on the network path could pose as the coordinator and have its own key trusted ' +
    'here. Enter the coordinator key your administrator gives you (warren-coordinator key prints it), or use ' +
    "the coordinator's https:// address. Only on a network you trust, choose to enrol without checking the key."
  );
}

/** coordinatorChecks are the fields enrolling and signing in share. */
const coordinatorChecks = {
  coordinator: checks.string({
    min: 8,
    max: ENROL_LIMITS.coordinatorChars,
    pattern: /^https?:\/\/[^\s]+$/,
    what: 'the coordinator URL (http:// or https://)',
  }),
  coordinatorKey: checks.optional(
    checks.string({
      min: 44,
      max: 44,
      pattern: COORDINATOR_KEY_PATTERN,
      what: 'the coordinator key (44 characters of base64, as warren-coordinator key prints it)',
    }),
  ),
  insecure: checks.optional(checks.boolean('insecure')),
};

const identity = checks.string({ min: 5, max: 5, pattern: /^[0-9A-Za-z]{5}$/, what: 'the exit node identity' });

/** IPC_SCHEMA: every call (argument checker, result type) and every event (payload type). */
export const IPC_SCHEMA = {
  calls: {
    /** getState returns the current AppState (a new window's snapshot; events follow). */
    getState: { arg: checks.none, result: returns<AppState>() },
    connect: { arg: checks.none, result: returns<AppState['tunnel']>() },
    disconnect: { arg: checks.none, result: returns<AppState['tunnel']>() },
    useExitNode: { arg: checks.object({ identity, use: checks.boolean('use') }), result: returns<ExitChoice>() },
    why: {
      arg: checks.object({
        peer: checks.string({ min: 1, max: 64, pattern: /^[0-9A-Za-z._:+/=-]+$/, what: 'the peer' }),
      }),
      result: returns<WhyView>(),
    },
    enrol: {
      arg: checks.object({
        coordinator: coordinatorChecks.coordinator,
        key: checks.string({
          min: 1,
          max: ENROL_LIMITS.keyChars,
          pattern: /^[\x21-\x7e]+$/,
          what: 'the enrolment key',
        }),
        coordinatorKey: coordinatorChecks.coordinatorKey,
        insecure: coordinatorChecks.insecure,
      }),
      result: returns<EnrolOutcome>(),
    },
    /** signIn asks the helper to start signing in with the coordinator's identity provider and
     * opens the URL in the person's browser; how it goes arrives with the state (tunnel.login). */
    signIn: { arg: checks.object(coordinatorChecks), result: returns<SignInStarted>() },
    /** cancelSignIn cancels the sign-in under way, at the coordinator too, so its URL enrols
     * nothing; the outcome arrives with the state (tunnel.login 'cancelled'). */
    cancelSignIn: { arg: checks.none, result: returns<{ message: string }>() },
  },
  events: {
    /** state is the whole AppState after every change. */
    state: returns<AppState>(),
  },
} as const;

type Calls = typeof IPC_SCHEMA.calls;
type Events = typeof IPC_SCHEMA.events;

/** CallName is every call's name. */
export type CallName = keyof Calls;
/** EventName is every event's name. */
export type EventName = keyof Events;
/** ArgOf is a call's argument type. */
export type ArgOf<K extends CallName> = CheckedType<Calls[K]['arg']>;
/** ResultOf is a call's result type. */
export type ResultOf<K extends CallName> = Calls[K]['result'] extends Returns<infer R> ? R : never;
/** PayloadOf is an event's payload type. */
export type PayloadOf<K extends EventName> = Events[K] extends Returns<infer P> ? P : never;

/** IpcResult is how every result and error crosses the boundary. */
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: Problem };

/** IpcHandlers is what main implements: one async function per call. */
export type IpcHandlers = { [K in CallName]: (arg: ArgOf<K>) => Promise<ResultOf<K>> };

/** IpcInvoker is what the renderer calls: calls without an argument take none. */
export type IpcInvoker = {
  [K in CallName]: [ArgOf<K>] extends [void]
    ? () => Promise<IpcResult<ResultOf<K>>>
    : (arg: ArgOf<K>) => Promise<IpcResult<ResultOf<K>>>;
};

/** IpcEmitter is what main uses to send events. */
export type IpcEmitter = { [K in EventName]: (payload: PayloadOf<K>) => void };

/** CALL_NAMES and EVENT_NAMES list the schema's keys at run time. */
export const CALL_NAMES = Object.keys(IPC_SCHEMA.calls) as CallName[];
export const EVENT_NAMES = Object.keys(IPC_SCHEMA.events) as EventName[];

/** channelOf is the Electron channel of a call or event. */
export function channelOf(kind: 'call' | 'event', name: CallName | EventName): string {
  return `warren:${kind}:${name}`;
}

/** isCallName says whether an untrusted value names a call. */
export function isCallName(v: unknown): v is CallName {
  return typeof v === 'string' && Object.hasOwn(IPC_SCHEMA.calls, v);
}

/**
 * dispatchCall runs one call from the other side: it checks the name and the argument, runs
 * the handler and returns the result or the error as data. toProblem words a handler's
 * exception; it runs only for errors the handler threw.
 */
export async function dispatchCall(
  handlers: IpcHandlers,
  name: unknown,
  arg: unknown,
  toProblem: (e: unknown) => Problem,
): Promise<IpcResult<unknown>> {
  if (!isCallName(name))
    return { ok: false, error: { code: 'bad-request', message: `no such call: ${String(name).slice(0, 40)}` } };
  const problem = IPC_SCHEMA.calls[name].arg(arg === null ? undefined : arg);
  if (problem !== null) return { ok: false, error: { code: 'bad-request', message: problem } };
  try {
    const handler = handlers[name] as (a: unknown) => Promise<unknown>;
    return { ok: true, value: await handler(arg === null ? undefined : arg) };
  } catch (e) {
    return { ok: false, error: toProblem(e) };
  }
}

/** makeInvoker derives the renderer's typed functions from one transport (Electron's invoke or
 * HTTP); whatever the transport returns that is not an IpcResult becomes an error result. */
export function makeInvoker(transport: (name: CallName, arg: unknown) => Promise<unknown>): IpcInvoker {
  const out: Record<string, (arg?: unknown) => Promise<IpcResult<unknown>>> = {};
  for (const name of CALL_NAMES) {
    out[name] = async (arg?: unknown) => {
      try {
        return asResult(await transport(name, arg ?? null));
      } catch (e) {
        return {
          ok: false,
          error: {
            code: 'backend-unreachable',
            message: `the app could not reach its backend: ${(e as Error)?.message ?? String(e)}`,
          },
        };
      }
    };
  }
  return out as unknown as IpcInvoker;
}

/** asResult accepts a value as an IpcResult only if it has that shape. */
export function asResult(v: unknown): IpcResult<unknown> {
  const r = v as { ok?: unknown; value?: unknown; error?: { code?: unknown; message?: unknown } } | null;
  if (r?.ok === true && 'value' in r) return { ok: true, value: r.value };
  if (r?.ok === false && typeof r.error?.message === 'string' && typeof r.error.code === 'string') {
    return { ok: false, error: { code: r.error.code as Problem['code'], message: r.error.message } };
  }
  return { ok: false, error: { code: 'internal', message: 'the app backend sent an answer the window cannot read' } };
}

/** PRELOAD_GLOBAL is the window property under which Electron's preload exposes PreloadApi. */
export const PRELOAD_GLOBAL = 'warrenIpc';

/** PreloadApi is the whole surface the preload exposes to the page (contextBridge): one
 * invoke for every call, one subscription for every event; names and arguments are checked
 * in main again, the page is never trusted. */
export interface PreloadApi {
  invoke(name: CallName, arg: unknown): Promise<unknown>;
  on(event: EventName, listener: (payload: unknown) => void): () => void;
}
