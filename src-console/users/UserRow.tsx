// One user: who, their groups and systems, when and where they last authenticated, and the
// admin's Disable / Enable. Disabling asks first and says what it does; a refusal is shown in
// the row it was made from.
import { useState, type ReactNode } from 'react';
import { ADMIN_PATHS, type AdminUser } from '../../src-shared/wire/admin.js';
import { api, errorText } from '../api.js';
import { Badge, ConfirmButton, ErrorLine, when } from '../components/ui.js';
import { loadUsers } from '../store/actions.js';

/** disableQuestion is what disabling does (docs/coordinator.md "Disabling a user"). */
export function disableQuestion(u: AdminUser): string {
  const n = u.ownedSystems.length;
  return `Disable ${u.email}? Every grant that names them (user:, group:) or requires their sign-in (UserAuthentication) stops within a second on ${n === 1 ? 'their system' : `all ${n} of their systems`}, and they cannot sign in again until enabled.`;
}

export function UserRow({ u }: { u: AdminUser }): ReactNode {
  const [error, setError] = useState<string | null>(null);
  const act = (verb: 'disable' | 'enable'): void => {
    setError(null);
    api('POST', `${ADMIN_PATHS.users}/${encodeURIComponent(u.userId)}/${verb}`).then(
      () => void loadUsers(),
      (e: unknown) => setError(errorText(e)),
    );
  };
  return (
    <>
      <tr data-email={u.email} data-state={u.disabled ? 'disabled' : 'active'}>
        <td>
          {u.email}
          {u.name !== '' && <div className="muted">{u.name}</div>}
        </td>
        <td>{u.groups.join(', ') || '–'}</td>
        <td>
          {when(u.lastAuthAt)} <span className="muted">at {u.provider}</span>
        </td>
        <td>
          {u.checkedAt === null ? '–' : when(u.checkedAt)}
          {u.lapsedAt !== null && (
            <div>
              <Badge kind="revoked">refused</Badge> the sign-in lapsed
            </div>
          )}
        </td>
        <td>
          {u.ownedSystems.length === 0
            ? '–'
            : u.ownedSystems.map((s) => (
                <div key={s.identity} data-system={s.identity} data-online={s.online ? 'yes' : 'no'}>
                  <span className={s.online ? 'dot on' : 'dot'} title={s.online ? 'online' : 'offline'} /> {s.name}{' '}
                  {s.state !== 'active' && <Badge kind={s.state}>{s.state}</Badge>}
                </div>
              ))}
        </td>
        <td>
          <Badge kind={u.disabled ? 'revoked' : 'active'}>{u.disabled ? 'disabled' : 'active'}</Badge>
        </td>
        <td className="actions">
          {u.disabled ? (
            <button type="button" className="primary" onClick={() => act('enable')}>
              Enable
            </button>
          ) : (
            <ConfirmButton
              label="Disable"
              question={disableQuestion(u)}
              danger
              explained
              onConfirm={() => act('disable')}
            />
          )}
        </td>
      </tr>
      {error !== null && (
        <tr className="detail">
          <td colSpan={7}>
            <ErrorLine text={error} />
          </td>
        </tr>
      )}
    </>
  );
}
