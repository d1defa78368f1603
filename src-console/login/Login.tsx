// The login form: the admin token (from the coordinator data dir's admin.token) is sent once and
// exchanged for an HttpOnly session cookie; the page never keeps it.
import { useState, type FormEvent, type ReactNode } from 'react';
import { login } from '../store/actions.js';
import { useStore } from '../store/index.js';

export function Login(): ReactNode {
  const notice = useStore((s) => s.loginNotice);
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    setBusy(true);
    void login(token.trim()).finally(() => {
      setBusy(false);
      setToken('');
    });
  };
  return (
    <main className="login">
      <form className="card" onSubmit={submit} aria-label="Log in">
        <h1>Warren console</h1>
        <p className="muted">
          Log in with the admin token: the file <code>admin.token</code> in the coordinator&apos;s data directory.
        </p>
        <label>
          Admin token
          <input
            type="password"
            name="token"
            autoComplete="off"
            value={token}
            onChange={(e) => setToken(e.target.value)}
            required
          />
        </label>
        {notice !== null && (
          <p className="error" role="alert">
            {notice}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy || token.trim() === ''}>
          Log in
        </button>
      </form>
    </main>
  );
}
