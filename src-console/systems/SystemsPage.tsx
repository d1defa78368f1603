// Systems: every enrolled system with its live state, polled every 2 s (the admin API's list is
// cheap: the registry is in memory), and what an admin does to one.
import { useEffect, type ReactNode } from 'react';
import { ErrorLine } from '../components/ui.js';
import { loadSystems } from '../store/actions.js';
import { useStore } from '../store/index.js';
import { SystemRow } from './SystemRow.js';

/** POLL_MS: how often the list (and so the online dots) refresh. */
const POLL_MS = 2000;

export function SystemsPage(): ReactNode {
  const systems = useStore((s) => s.systems);
  const error = useStore((s) => s.systemsError);
  useEffect(() => {
    void loadSystems();
    const t = setInterval(() => void loadSystems(), POLL_MS);
    return () => clearInterval(t);
  }, []);
  return (
    <section aria-label="Systems">
      <h2>Systems</h2>
      <ErrorLine text={error} />
      {systems === null ? (
        <p className="muted">Loading…</p>
      ) : systems.length === 0 ? (
        <p className="muted">No systems yet: create an enrolment key and enrol one with `warren enrol`.</p>
      ) : (
        <table className="grid">
          <thead>
            <tr>
              <th>Name</th>
              <th>Identity</th>
              <th>Address</th>
              <th>State</th>
              <th>Tags</th>
              <th>DNS names</th>
              <th>Last seen</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {systems.map((s) => (
              <SystemRow key={s.systemId} s={s} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
