// ProblemBanner: the small problems above the content: main itself out of reach, a read-only
// user, a tunnel in error, and the last action that failed (dismissable).
import { useStore } from '../../store/index.js';

export function ProblemBanner() {
  const app = useStore((s) => s.app);
  const backendReachable = useStore((s) => s.backendReachable);
  const notice = useStore((s) => s.notice);
  const showNotice = useStore((s) => s.showNotice);
  const access = app.link === 'up' ? app.access : null;
  const tunnelError = app.link === 'up' && app.tunnel?.state === 'error' ? app.tunnel.error : null;
  const helperProblems = app.link === 'up' ? (app.tunnel?.problems ?? []) : [];
  // In the Enrol tab its own Sign in again button is right there.
  const onEnrol = useStore((s) => s.view === 'enrol');
  const lapsed = app.link === 'up' && app.tunnel?.signIn?.lapsed === true && !onEnrol;
  return (
    <div aria-live="polite">
      {!backendReachable && (
        <div className="banner banner-error" role="alert" data-testid="backend-down">
          <div className="grow">
            <strong>Lost contact with the app</strong>
            <p className="text">
              The process that serves this window stopped answering (was <code>warren ui</code> closed?). Retrying…
            </p>
          </div>
        </div>
      )}
      {access && !access.privileged && (
        <div className="banner banner-warn" data-testid="read-only">
          <div className="grow">
            <strong>Read-only</strong>
            <p className="text">
              {access.operatorGroupExists ? (
                <>
                  You can watch, but connecting, disconnecting, exit nodes and enrolling need root or membership in the{' '}
                  <code>{access.operatorGroup}</code> group. Ask an administrator to run{' '}
                  <code>sudo usermod -aG {access.operatorGroup} $USER</code>, then log in again.
                </>
              ) : (
                <>
                  You can watch, but changing things needs root: the operator group <code>{access.operatorGroup}</code>{' '}
                  does not exist on this system (<code>sudo groupadd {access.operatorGroup}</code> creates it).
                </>
              )}
            </p>
          </div>
        </div>
      )}
      {helperProblems.map((p) => (
        <div className="banner banner-warn" key={p} data-testid="helper-problem">
          <div className="grow">
            <p className="text">{p}</p>
          </div>
        </div>
      ))}
      {lapsed && <SignInAgain />}
      {tunnelError !== null && (
        <div className="banner banner-error" role="alert" data-testid="tunnel-error">
          <div className="grow">
            <strong>The tunnel failed</strong>
            <p className="text">{tunnelError ?? 'See the helper log.'}</p>
          </div>
        </div>
      )}
      {notice && (
        <div
          className={`banner ${notice.kind === 'error' ? 'banner-error' : 'banner-ok'}`}
          role={notice.kind === 'error' ? 'alert' : 'status'}
          data-testid="notice"
        >
          <div className="grow">
            <p className="text">{notice.text}</p>
          </div>
          <button type="button" className="btn-link" onClick={() => showNotice(null)}>
            Dismiss
          </button>
        </div>
      )}
    </div>
  );
}

/** SignInAgain offers the way back when this system's sign-in has lapsed: the Enrol tab, whose
 * button then reads "Sign in again". */
function SignInAgain() {
  const setView = useStore((s) => s.setView);
  return (
    <div className="banner banner-warn" data-testid="sign-in-again">
      <div className="grow">
        <p className="text">Sign in again to reopen what needs a recent sign-in.</p>
      </div>
      <button type="button" className="btn btn-primary" onClick={() => setView('enrol')}>
        Sign in again
      </button>
    </div>
  );
}
