// Signing in from the Enrol tab: after "Sign in" the helper has asked the coordinator for a
// login, and main has handed its URL to the person's browser. This shows the code the provider's
// page will show after signing in (so the person can tell it is this system they enrol), the
// address to open by hand when no browser opened, a Cancel that ends the sign-in at the
// coordinator too (so its URL enrols nothing), and how it goes as the helper's status says:
// waiting, then enrolled as the user with their tags, cancelled, or the refusal as a sentence.
import type { LoginView, SignInStarted, SignInView } from '../../../src-shared/wire/login-view.js';

/** hhmm is a time of day for people, in their own time zone. */
const hhmm = (ms: number): string =>
  new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });

/** SignInProgress is the sign-in under way, or how the last one ended. started is this window's
 * own start (the URL and code go only to whoever started it); login is the helper's account. */
export function SignInProgress({
  started,
  login,
  error,
  onCancel,
}: {
  started: SignInStarted | null;
  login: LoginView | null;
  error: string | null;
  /** onCancel cancels the waiting sign-in; absent for a user who may not change the helper. */
  onCancel?: () => void;
}) {
  if (error !== null)
    return (
      <p
        className="banner banner-error"
        role="alert"
        data-testid="sign-in-outcome"
        data-state="failed"
        style={{ marginTop: 12 }}
      >
        {error}
      </p>
    );
  const waiting = login?.state === 'waiting' || (login === null && started !== null);
  const cancel = onCancel && (
    <button type="button" className="btn" data-testid="sign-in-cancel" onClick={onCancel}>
      Cancel sign-in
    </button>
  );
  return (
    <div data-testid="sign-in-progress" style={{ marginTop: 12 }}>
      {waiting && started && (
        <div className="banner banner-ok" role="status" data-testid="sign-in-outcome" data-state="waiting">
          <div className="grow">
            <strong>Waiting for you to sign in in your browser</strong>
            <p className="text">
              {started.opened ? 'Your browser has opened the sign-in page' : 'Open this address in your browser'}
              {started.provider ? ` (${started.provider})` : ''}. After you sign in, the page shows the code{' '}
              <code data-testid="sign-in-code">{started.code}</code>: check it is this one, so you know it is this
              system you enrol, and press Confirm there. The sign-in works until {hhmm(started.expiresAt)}.
            </p>
            <p className="text">
              {started.opened ? 'If no page opened: ' : ''}
              <a href={started.url} target="_blank" rel="noreferrer noopener" data-testid="sign-in-url">
                {started.url.length > 80 ? `${started.url.slice(0, 77)}…` : started.url}
              </a>
            </p>
          </div>
          {cancel}
        </div>
      )}
      {waiting && !started && login && (
        <div className="banner banner-ok" role="status" data-testid="sign-in-outcome" data-state="waiting">
          <p className="grow">{login.message}</p>
          {cancel}
        </div>
      )}
      {login && login.state !== 'waiting' && (
        <p
          className={`banner ${login.state === 'enrolled' ? 'banner-ok' : login.state === 'cancelled' ? 'banner-warn' : 'banner-error'}`}
          role={login.state === 'refused' ? 'alert' : 'status'}
          data-testid="sign-in-outcome"
          data-state={login.state}
        >
          {login.message}
        </p>
      )}
    </div>
  );
}

/** LapsedSignIn says that this system's sign-in has expired, in the Enrol tab above the button
 * that signs in again. */
export function LapsedSignIn({ signIn }: { signIn: SignInView | null }) {
  if (!signIn?.lapsed) return null;
  return (
    <p className="banner banner-warn" role="alert" data-testid="sign-in-lapsed">
      Your sign-in as {signIn.user}
      {signIn.expiresAt !== null ? ` expired at ${hhmm(signIn.expiresAt)}` : ' has expired'}: what needs a recent
      sign-in is closed to this system until you sign in again.
    </p>
  );
}
