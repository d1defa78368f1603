// Users: the people who signed in with an identity provider (serve --oidc), their groups as the
// provider last said, their systems and their last authentication, polled every 2 s like the
// systems (so the online dots and a token check's new groups show), and disabling one.
import { useEffect, type ReactNode } from 'react';
import { ErrorLine } from '../components/ui.js';
import { loadUsers } from '../store/actions.js';
import { useStore } from '../store/index.js';
import { UserRow } from './UserRow.js';

/** POLL_MS: how often the list refreshes. */
const POLL_MS = 2000;

export function UsersPage(): ReactNode {
  const users = useStore((s) => s.users);
  const error = useStore((s) => s.usersError);
  useEffect(() => {
    void loadUsers();
    const t = setInterval(() => void loadUsers(), POLL_MS);
    return () => clearInterval(t);
  }, []);
  return (
    <section aria-label="Users">
      <h2>Users</h2>
      <ErrorLine text={error} />
      {users === null ? (
        <p className="muted">Loading…</p>
      ) : users.length === 0 ? (
        <p className="muted">
          Nobody has signed in yet: start the coordinator with `serve --oidc FILE` and run `warren login` on a system.
        </p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>User</th>
              <th>Groups</th>
              <th>Last sign-in</th>
              <th>Token check</th>
              <th>Systems</th>
              <th>State</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {users.map((u) => (
              <UserRow key={u.userId} u={u} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
