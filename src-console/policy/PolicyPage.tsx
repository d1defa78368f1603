// Policy: the file in force in an editor; Check runs the coordinator's dry run (what would be
// refused, what looks wrong, which pairs and routes would change) and Apply puts it in force.
import { useEffect, useState, type ReactNode } from 'react';
import {
  ADMIN_PATHS,
  type PolicyInfo,
  type PolicyIssueWire,
  type PolicyRefusedBody,
  type PolicyTestResult,
} from '../../src-shared/wire/admin.js';
import { CONTROL_PATHS } from '../../src-shared/wire/control.js';
import { api, ApiError, errorText } from '../api.js';
import { ErrorLine, when } from '../components/ui.js';
import { DryRun } from './DryRun.js';
import { PolicyEditor } from './PolicyEditor.js';

interface Outcome {
  issues: PolicyIssueWire[];
  test: PolicyTestResult | null;
  applied: PolicyInfo | null;
  error: string | null;
}

const NONE: Outcome = { issues: [], test: null, applied: null, error: null };

export function PolicyPage(): ReactNode {
  const [info, setInfo] = useState<PolicyInfo | null>(null);
  const [text, setText] = useState('');
  const [out, setOut] = useState<Outcome>(NONE);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    api<PolicyInfo>('GET', CONTROL_PATHS.adminPolicy).then(
      (p) => {
        setInfo(p);
        // Fill the editor with the file in force only if nothing was typed while it loaded.
        setText((typed) => (typed === '' ? (p.text ?? '') : typed));
      },
      (e: unknown) => setOut({ ...NONE, error: errorText(e) }),
    );
  }, []);
  const run = (fn: () => Promise<Outcome>): void => {
    setBusy(true);
    fn()
      .then(setOut, (e: unknown) => setOut({ ...NONE, error: errorText(e) }))
      .finally(() => setBusy(false));
  };
  const check = (): Promise<Outcome> =>
    api<PolicyTestResult>('POST', ADMIN_PATHS.policyTest, text).then(
      (t) => ({ ...NONE, issues: t.issues, test: t }),
      (e: unknown) => {
        // A coordinator older than the dry run has no such route.
        if (e instanceof ApiError && e.status === 404)
          return {
            ...NONE,
            error: 'This coordinator has no policy dry run; update it to check files before applying.',
          };
        throw e;
      },
    );
  const apply = async (): Promise<Outcome> => {
    try {
      const p = await api<PolicyInfo>('PUT', CONTROL_PATHS.adminPolicy, text);
      setInfo(p);
      return { ...NONE, applied: p };
    } catch (e) {
      const body = e instanceof ApiError ? (e.body as Partial<PolicyRefusedBody> | null) : null;
      return { ...NONE, issues: body?.issues ?? [], error: errorText(e) };
    }
  };
  return (
    <section aria-label="Policy">
      <h2>Policy</h2>
      <p className="muted">
        {info === null
          ? 'Loading…'
          : `In force since ${when(info.appliedAt)}, map version ${info.mapVersion}: ${info.counts.policies} policies, ${info.counts.tags} tags, ${info.counts.dnsRecords} DNS records, ${info.counts.routes} routes.`}
      </p>
      <PolicyEditor
        text={text}
        issues={out.issues}
        onChange={(t) => {
          setText(t);
          setOut(NONE);
        }}
      />
      <div className="buttons">
        <button type="button" disabled={busy} onClick={() => run(check)}>
          Check
        </button>
        <button type="button" className="primary" disabled={busy} onClick={() => run(apply)}>
          Apply
        </button>
      </div>
      <ErrorLine text={out.error} />
      {out.test !== null && <DryRun t={out.test} />}
      {out.applied !== null && (
        <p className="ok" role="status">
          Applied: map version {out.applied.mapVersion}.
          {(out.applied.warnings ?? []).map((w) => ` Line ${w.line}: ${w.problem}.`).join('')}
        </p>
      )}
    </section>
  );
}
