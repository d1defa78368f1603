// One system: its state and the admin's actions on it. Each action's refusal is shown in the
// row it was made from.
import { useState, type ReactNode } from 'react';
import type { AdminSystem } from '../../src-shared/wire/admin.js';
import { CONTROL_PATHS } from '../../src-shared/wire/control.js';
import { api, errorText } from '../api.js';
import { Badge, ConfirmButton, ErrorLine, when } from '../components/ui.js';
import { loadSystems } from '../store/actions.js';
import { SystemEdit } from './SystemEdit.js';

const path = (s: AdminSystem): string => `${CONTROL_PATHS.adminSystems}/${encodeURIComponent(s.systemId)}`;

export function SystemRow({ s }: { s: AdminSystem }): ReactNode {
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState(false);
  const act = (method: string, suffix: string): void => {
    setError(null);
    api(method, `${path(s)}${suffix}`).then(
      () => void loadSystems(),
      (e: unknown) => setError(errorText(e)),
    );
  };
  return (
    <>
      <tr data-identity={s.identity} data-state={s.state} data-online={s.online ? 'yes' : 'no'}>
        <td>
          <span className={s.online ? 'dot on' : 'dot'} title={s.online ? 'online' : 'offline'} /> {s.name}
          {s.ephemeral && <Badge kind="muted">ephemeral</Badge>}
        </td>
        <td>
          <code>{s.identity}</code>
        </td>
        <td>{s.virtualAddress}</td>
        <td>
          <Badge kind={s.state}>{s.state}</Badge> {s.online ? 'online' : 'offline'}
        </td>
        <td>{s.tags.join(', ') || '–'}</td>
        <td>{s.dnsNames.join(', ') || '–'}</td>
        <td>{when(s.lastSeen)}</td>
        <td className="actions">
          {s.state === 'pending' && (
            <button type="button" className="primary" onClick={() => act('POST', '/approve')}>
              Approve
            </button>
          )}
          {s.state !== 'revoked' && (
            <button type="button" onClick={() => setEditing(!editing)}>
              Edit
            </button>
          )}
          {s.state !== 'revoked' && (
            <ConfirmButton
              label="Revoke"
              question={`Cut ${s.name} off for good?`}
              danger
              onConfirm={() => act('POST', '/revoke')}
            />
          )}
          {s.state === 'revoked' && (
            <ConfirmButton label="Delete" question={`Forget ${s.name}?`} danger onConfirm={() => act('DELETE', '')} />
          )}
        </td>
      </tr>
      {(error !== null || editing) && (
        <tr className="detail">
          <td colSpan={8}>
            <ErrorLine text={error} />
            {editing && <SystemEdit s={s} path={path(s)} done={() => setEditing(false)} />}
          </td>
        </tr>
      )}
    </>
  );
}
