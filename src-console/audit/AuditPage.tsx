// The audit log, newest first: who did what from where, and what was refused.
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { Badge, ErrorLine, when } from '../components/ui.js';
import { loadAudit, type AuditFilter } from '../store/actions.js';
import { useStore } from '../store/index.js';

export function AuditPage(): ReactNode {
  const entries = useStore((s) => s.audit);
  const error = useStore((s) => s.auditError);
  const [f, setF] = useState<AuditFilter>({ action: '', actor: '', refusedOnly: false });
  useEffect(() => {
    void loadAudit({ action: '', actor: '', refusedOnly: false });
  }, []);
  const submit = (e: FormEvent): void => {
    e.preventDefault();
    void loadAudit(f);
  };
  return (
    <section aria-label="Audit log">
      <h2>Audit log</h2>
      <form className="inline-form" onSubmit={submit} aria-label="Filter">
        <label>
          Action
          <input name="action" value={f.action} onChange={(e) => setF({ ...f, action: e.target.value })} />
        </label>
        <label>
          Actor
          <input name="actor" value={f.actor} onChange={(e) => setF({ ...f, actor: e.target.value })} />
        </label>
        <label className="check">
          <input
            type="checkbox"
            name="refused"
            checked={f.refusedOnly}
            onChange={(e) => setF({ ...f, refusedOnly: e.target.checked })}
          />
          Refused only
        </label>
        <button type="submit" className="primary">
          Show
        </button>
      </form>
      <ErrorLine text={error} />
      {entries !== null && entries.length === 0 && <p className="muted">Nothing matches.</p>}
      {entries !== null && entries.length > 0 && (
        <table className="grid">
          <thead>
            <tr>
              <th>Time</th>
              <th>Actor</th>
              <th>Source</th>
              <th>Action</th>
              <th>Target</th>
              <th>Outcome</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {entries.map((a) => (
              <tr key={a.id} data-action={a.action} data-outcome={a.outcome}>
                <td>{when(a.at)}</td>
                <td>{a.actor}</td>
                <td>{a.source ?? '–'}</td>
                <td>
                  <code>{a.action}</code>
                </td>
                <td>{a.target}</td>
                <td>
                  <Badge kind={a.outcome === 'ok' ? 'active' : 'revoked'}>{a.outcome}</Badge> {a.reason ?? ''}
                </td>
                <td>{a.detail ?? ''}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
