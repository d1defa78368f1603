// EnrolForm: joins this system to a coordinator with its URL and an enrolment key. Fields are
// checked here for the obvious mistakes (main checks again); the helper's answer is shown
// next to the button.
import { useId, useState, type FormEvent, type InputHTMLAttributes } from 'react';
import { canChange } from '../../../src-shared/wire/app-state.js';
import { enrol } from '../../store/actions.js';
import { useStore } from '../../store/index.js';

function urlProblem(url: string): string | null {
  if (url.trim() === '') return "Enter the coordinator's address.";
  if (!/^https?:\/\/[^\s/]+/.test(url.trim()))
    return 'The address starts with https:// (or http:// on a test network).';
  return null;
}

function keyProblem(key: string): string | null {
  if (key.trim() === '') return 'Enter the enrolment key your administrator gave you.';
  if (/\s/.test(key.trim())) return 'The key has no spaces.';
  return null;
}

type FieldProps = { id: string; label: string; error: string | null } & InputHTMLAttributes<HTMLInputElement>;

/** Field is a labelled input with its error message, tied together for screen readers. */
function Field({ id, label, error, ...input }: FieldProps) {
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} aria-invalid={error !== null} aria-describedby={error ? `${id}-err` : undefined} />
      {error && (
        <span className="error" id={`${id}-err`}>
          {error}
        </span>
      )}
    </div>
  );
}

/** Outcome is the helper's answer to the last enrolment, next to the button. */
function Outcome({ ok, text }: { ok: boolean; text: string }) {
  return (
    <p
      className={`banner ${ok ? 'banner-ok' : 'banner-error'}`}
      role={ok ? 'status' : 'alert'}
      data-testid="enrol-outcome"
      style={{ marginTop: 12 }}
    >
      {text}
    </p>
  );
}

export function EnrolForm() {
  const app = useStore((s) => s.app);
  const pending = useStore((s) => s.pending.enrol === true);
  const [url, setUrl] = useState(app.tunnel?.coordinator?.url ?? '');
  const [key, setKey] = useState('');
  const [touched, setTouched] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();
  const may = canChange(app);
  const uErr = touched ? urlProblem(url) : null;
  const kErr = touched ? keyProblem(key) : null;

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (urlProblem(url) || keyProblem(key)) return;
    setOutcome(null);
    const r = await enrol(url.trim(), key.trim());
    if (r === null) return;
    setOutcome(r.ok ? { ok: true, text: r.value.message } : { ok: false, text: r.error.message });
    if (r.ok) setKey('');
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="enrol-view">
      <h2 id={`${id}-title`}>Enrol with a coordinator</h2>
      <p className="hint">
        A coordinator hands this system its address, peers and policies. You need its address and an enrolment key.
      </p>
      {app.tunnel?.coordinator && (
        <p className="hint">
          Currently enrolled with <code>{app.tunnel.coordinator.url}</code>.
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <fieldset disabled={!may || pending} style={{ border: 0, padding: 0, margin: 0 }}>
          <Field
            id={`${id}-url`}
            label="Coordinator URL"
            error={uErr}
            name="coordinator"
            type="url"
            inputMode="url"
            autoComplete="url"
            placeholder="https://coordinator.example.com"
            value={url}
            onChange={(e) => setUrl(e.target.value)}
            data-testid="enrol-url"
            maxLength={2048}
          />
          <Field
            id={`${id}-key`}
            label="Enrolment key"
            error={kErr}
            name="key"
            type="password"
            autoComplete="off"
            spellCheck={false}
            value={key}
            onChange={(e) => setKey(e.target.value)}
            data-testid="enrol-key"
            maxLength={512}
          />
          <div className="form-actions">
            <button type="submit" className="btn btn-primary" data-testid="enrol-submit">
              {pending ? 'Enrolling…' : 'Enrol'}
            </button>
            {!may && app.access && (
              <span className="hint">
                Read-only: enrolling needs root or the <code>{app.access.operatorGroup}</code> group.
              </span>
            )}
          </div>
        </fieldset>
      </form>
      {outcome && <Outcome ok={outcome.ok} text={outcome.text} />}
    </section>
  );
}
