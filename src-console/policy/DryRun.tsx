// The dry run's answer: warnings, and which pairs and routes the file would change.
import type { ReactNode } from 'react';
import type { AccessChange, PolicyTestResult } from '../../src-shared/wire/admin.js';

const ports = (p: string[]): string => (p.length === 0 ? 'nothing' : p.join(', '));

export function DryRun({ t }: { t: PolicyTestResult }): ReactNode {
  return (
    <div className="card dry-run" aria-label="Dry run">
      <h3>
        {t.ok
          ? 'The file is valid'
          : `The file would be refused (${t.issues.length} problem${t.issues.length === 1 ? '' : 's'})`}
      </h3>
      {t.warnings.map((w) => (
        <p key={`${w.line}:${w.column}:${w.problem}`} className="warn">
          Line {w.line}: {w.problem}
        </p>
      ))}
      {t.ok && t.changes.length === 0 && t.routes.length === 0 && <p className="muted">No access would change.</p>}
      {t.changes.length > 0 && (
        <table className="grid changes">
          <thead>
            <tr>
              <th>From</th>
              <th>To</th>
              <th>Now</th>
              <th>After</th>
            </tr>
          </thead>
          <tbody>
            {t.changes.map((c) => (
              <ChangeRow key={`${c.from}>${c.to}`} c={c} />
            ))}
          </tbody>
        </table>
      )}
      {t.truncated && <p className="muted">More pairs change than are listed.</p>}
      {t.routes.map((r) => (
        <p key={`${r.sender}>${r.exitNode}>${r.subnet}`} className="route-change">
          {r.senderName} → {r.subnet} via {r.exitNode}: {r.change}
        </p>
      ))}
    </div>
  );
}

function ChangeRow({ c }: { c: AccessChange }): ReactNode {
  return (
    <tr className="change" data-from={c.from} data-to={c.to}>
      <td>
        {c.fromName} <code>{c.from}</code>
      </td>
      <td>
        {c.toName} <code>{c.to}</code>
      </td>
      <td>{ports(c.before)}</td>
      <td>{ports(c.after)}</td>
    </tr>
  );
}
