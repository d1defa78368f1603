// Actions: what buttons do. Each runs one typed call through the bridge, marks itself pending
// while it runs, and turns an error result into a notice; successes need no notice because
// the next state event shows them (the Connect button turns into Disconnect).
import type { Bridge } from '../bridge.js';
import type { ArgOf, IpcResult } from '../../src-shared/wire/ipc-schema.js';
import type { SignInStarted } from '../../src-shared/wire/login-view.js';
import { useStore } from './index.js';

let bridge: Bridge | null = null;

/** bindBridge connects the store to main: state events flow in until the returned stop(). */
export function bindBridge(b: Bridge): () => void {
  bridge = b;
  const { setApp, setBackendReachable } = useStore.getState();
  void b.invoke.getState().then((r) => {
    if (r.ok) setApp(r.value);
  });
  return b.subscribe(setApp, setBackendReachable);
}

async function run<T>(key: string, call: (b: Bridge) => Promise<IpcResult<T>>): Promise<IpcResult<T> | null> {
  if (bridge === null) return null;
  const { setPending, showNotice } = useStore.getState();
  setPending(key, true);
  try {
    const r = await call(bridge);
    showNotice(r.ok ? null : { kind: 'error', text: r.error.message });
    return r;
  } finally {
    setPending(key, false);
  }
}

/** connect and disconnect switch the tunnel. */
export const connect = () => run('tunnel', (b) => b.invoke.connect());
export const disconnect = () => run('tunnel', (b) => b.invoke.disconnect());

/** setExitNode switches the routes through one exit node. */
export const setExitNode = (identity: string, use: boolean) =>
  run(`exit:${identity}`, (b) => b.invoke.useExitNode({ identity, use }));

/** toggleWhy opens a peer's explanation (asking the helper afresh each time) or closes it. */
export async function toggleWhy(identity: string): Promise<void> {
  const { why, setWhy } = useStore.getState();
  if (why[identity]?.open) {
    setWhy(identity, { open: false });
    return;
  }
  setWhy(identity, { open: true, loading: true, error: null });
  if (bridge === null) return;
  const r = await bridge.invoke.why({ peer: identity });
  setWhy(
    identity,
    r.ok ? { loading: false, result: r.value } : { loading: false, result: null, error: r.error.message },
  );
}

/** enrol sends the coordinator URL, the enrolment key and the coordinator key (when given);
 * the form shows the outcome itself. */
export async function enrol(arg: ArgOf<'enrol'>): Promise<IpcResult<{ message: string }> | null> {
  const r = await run('enrol', (b) => b.invoke.enrol(arg));
  // The form shows its own error next to the fields; the banner would repeat it.
  if (r && !r.ok) useStore.getState().showNotice(null);
  return r;
}

/** cancelSignIn cancels the sign-in under way; the Enrol tab shows it with the state. */
export async function cancelSignIn(): Promise<IpcResult<{ message: string }> | null> {
  return run('cancelSignIn', (b) => b.invoke.cancelSignIn());
}

/** signIn asks the helper to start signing in; the Enrol tab shows the code and the progress. */
export async function signIn(arg: ArgOf<'signIn'>): Promise<IpcResult<SignInStarted> | null> {
  const r = await run('signIn', (b) => b.invoke.signIn(arg));
  // The tab shows its own error next to the button; the banner would repeat it.
  if (r && !r.ok) useStore.getState().showNotice(null);
  return r;
}
