// Enrolment keys: the list (never the key text, which the coordinator keeps only as a hash),
// the form that creates one, and revoking.
import { useEffect, useState, type ReactNode } from 'react';
import type { AdminKey, CreatedKey } from '../../src-shared/wire/admin.js';
import { CONTROL_PATHS } from '../../src-shared/wire/control.js';
import { api, errorText } from '../api.js';
import { Badge, ConfirmButton, ErrorLine, when } from '../components/ui.js';
import { loadKeys } from '../store/actions.js';
import { useStore } from '../store/index.js';
import { CreateKeyForm } from './CreateKeyForm.js';
import { NewKey } from './NewKey.js';

export function KeysPage(): ReactNode {
  const keys = useStore((s) => s.keys);
  const error = useStore((s) => s.keysError);
  const [created, setCreated] = useState<CreatedKey | null>(null);
  useEffect(() => {
    void loadKeys();
  }, []);
  return (
    <section aria-label="Enrolment keys">
      <h2>Enrolment keys</h2>
      <CreateKeyForm
        onCreated={(k) => {
          setCreated(k);
          void loadKeys();
        }}
      />
      {created !== null && <NewKey k={created} onDismiss={() => setCreated(null)} />}
      <ErrorLine text={error} />
      {keys !== null && keys.length === 0 && <p className="muted">No enrolment keys yet.</p>}
      {keys !== null && keys.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>Id</th>
              <th>Tags</th>
              <th>Approval</th>
              <th>Uses</th>
              <th>Expires</th>
              <th>Status</th>
              <th>Actions</th>
            </tr>
          </thead>
          <tbody>
            {[...keys].reverse().map((k) => (
              <KeyRow key={k.id} k={k} />
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}

function KeyRow({ k }: { k: AdminKey }): ReactNode {
  const [error, setError] = useState<string | null>(null);
  const revoke = (): void => {
    api('POST', `${CONTROL_PATHS.adminKeys}/${encodeURIComponent(k.id)}/revoke`).then(
      () => void loadKeys(),
      (e: unknown) => setError(errorText(e)),
    );
  };
  return (
    <tr data-key-id={k.id}>
      <td>
        <code>{k.id}</code>
      </td>
      <td>
        {k.tags.join(', ') || '–'}
        {k.ephemeral && <Badge kind="muted">ephemeral</Badge>}
      </td>
      <td>{k.approval}</td>
      <td>
        {k.uses} / {k.usesAllowed}
      </td>
      <td>{when(k.expiresAt)}</td>
      <td>
        <Badge kind={k.status === 'usable' ? 'active' : 'revoked'}>{k.status}</Badge>
      </td>
      <td className="actions">
        {k.status === 'usable' && (
          <ConfirmButton label="Revoke" question="No more enrolments with it?" danger onConfirm={revoke} />
        )}
        <ErrorLine text={error} />
      </td>
    </tr>
  );
}
