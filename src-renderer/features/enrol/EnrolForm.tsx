// EnrolForm: joins this system to a coordinator with its URL, an enrolment key and, optionally,
// the coordinator's public key. Fields are checked here for the obvious mistakes (main checks
// again, and the helper after it); the helper's answer is shown next to the button. Over plain
// http:// the form asks for the coordinator key, or for an explicit choice to go without it,
// since anyone on the path could otherwise pose as the coordinator (enrolKeyProblem).
import { useId, useState, type FormEvent, type InputHTMLAttributes } from 'react';
import { canChange } from '../../../src-shared/wire/app-state.js';
import { ENROL_LIMITS } from '../../../src-shared/wire/helper-api.js';
import { COORDINATOR_KEY_PATTERN, enrolKeyProblem, type ArgOf } from '../../../src-shared/wire/ipc-schema.js';
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

function coordinatorKeyProblem(url: string, coordinatorKey: string, insecure: boolean): string | null {
  const k = coordinatorKey.trim();
  if (k !== '' && !COORDINATOR_KEY_PATTERN.test(k))
    return 'The coordinator key is 44 characters of base64, as warren-coordinator key prints it.';
  return enrolKeyProblem(url, k, isHttp(url) && insecure);
}

const isHttp = (url: string): boolean => /^http:\/\//i.test(url.trim());

type FieldProps = {
  id: string;
  label: string;
  error: string | null;
  hint?: string;
} & InputHTMLAttributes<HTMLInputElement>;

/** Field is a labelled input with its hint and error message, tied together for screen readers. */
function Field({ id, label, error, hint, ...input }: FieldProps) {
  const described = [hint ? `${id}-hint` : '', error ? `${id}-err` : ''].filter(Boolean).join(' ');
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} {...input} aria-invalid={error !== null} aria-describedby={described || undefined} />
      {hint && (
        <span className="field-hint" id={`${id}-hint`}>
          {hint}
        </span>
      )}
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

/** EnrolInput is what the person typed. */
interface EnrolInput {
  url: string;
  key: string;
  coordinatorKey: string;
  insecure: boolean;
}

/** problemsOf checks every field; the form goes ahead only when all are null. */
function problemsOf(v: EnrolInput) {
  return {
    url: urlProblem(v.url),
    key: keyProblem(v.key),
    coordinatorKey: coordinatorKeyProblem(v.url, v.coordinatorKey, v.insecure),
  };
}

/** argOf is the enrol call's argument: the key only when given, insecure only over http://. */
function argOf(v: EnrolInput): ArgOf<'enrol'> {
  const coordinatorKey = v.coordinatorKey.trim();
  return {
    coordinator: v.url.trim(),
    key: v.key.trim(),
    ...(coordinatorKey !== '' ? { coordinatorKey } : {}),
    ...(isHttp(v.url) && v.insecure && coordinatorKey === '' ? { insecure: true } : {}),
  };
}

/** EnrolFields are the form's inputs; errors are shown once the person has tried to submit. */
function EnrolFields({
  id,
  v,
  set,
  touched,
}: {
  id: string;
  v: EnrolInput;
  set: (p: Partial<EnrolInput>) => void;
  touched: boolean;
}) {
  const errors = problemsOf(v);
  const shown = (e: string | null): string | null => (touched ? e : null);
  return (
    <>
      <Field
        id={`${id}-url`}
        label="Coordinator URL"
        error={shown(errors.url)}
        name="coordinator"
        type="url"
        inputMode="url"
        autoComplete="url"
        placeholder="https://coordinator.example.com"
        value={v.url}
        onChange={(e) => set({ url: e.target.value })}
        data-testid="enrol-url"
        maxLength={ENROL_LIMITS.coordinatorChars}
      />
      <Field
        id={`${id}-key`}
        label="Enrolment key"
        error={shown(errors.key)}
        name="key"
        type="password"
        autoComplete="off"
        spellCheck={false}
        value={v.key}
        onChange={(e) => set({ key: e.target.value })}
        data-testid="enrol-key"
        maxLength={ENROL_LIMITS.keyChars}
      />
      <Field
        id={`${id}-ckey`}
        label="Coordinator key"
        hint="The coordinator's public key, from your administrator (warren-coordinator key prints it). Needed for http:// addresses; checked for https:// when given."
        error={shown(errors.coordinatorKey)}
        name="coordinatorKey"
        autoComplete="off"
        spellCheck={false}
        placeholder="optional for https://"
        value={v.coordinatorKey}
        onChange={(e) => set({ coordinatorKey: e.target.value })}
        data-testid="enrol-coordinator-key"
        maxLength={ENROL_LIMITS.coordinatorKeyChars}
      />
      {isHttp(v.url) && v.coordinatorKey.trim() === '' && (
        <label className="check">
          <input
            type="checkbox"
            checked={v.insecure}
            onChange={(e) => set({ insecure: e.target.checked })}
            data-testid="enrol-insecure"
          />
          <span>
            Enrol without checking the coordinator's key. Only on a network you trust: anyone on the path could pose as
            the coordinator.
          </span>
        </label>
      )}
    </>
  );
}

export function EnrolForm() {
  const app = useStore((s) => s.app);
  const pending = useStore((s) => s.pending.enrol === true);
  const [v, setV] = useState<EnrolInput>({
    url: app.tunnel?.coordinator?.url ?? '',
    key: '',
    coordinatorKey: '',
    insecure: false,
  });
  const [touched, setTouched] = useState(false);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();
  const may = canChange(app);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setTouched(true);
    if (Object.values(problemsOf(v)).some((p) => p !== null)) return;
    setOutcome(null);
    const r = await enrol(argOf(v));
    if (r === null) return;
    setOutcome(r.ok ? { ok: true, text: r.value.message } : { ok: false, text: r.error.message });
    if (r.ok) setV((old) => ({ ...old, key: '' }));
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="enrol-view">
      <h2 id={`${id}-title`}>Enrol with a coordinator</h2>
      <p className="hint">
        A coordinator hands this system its address, peers and policies. You need its address and an enrolment key; for
        an http:// address also its key, which your administrator gives you with the enrolment key.
      </p>
      {app.tunnel?.coordinator && (
        <p className="hint">
          Currently enrolled with <code>{app.tunnel.coordinator.url}</code>.
        </p>
      )}
      <form onSubmit={(e) => void submit(e)} noValidate>
        <fieldset disabled={!may || pending} style={{ border: 0, padding: 0, margin: 0 }}>
          <EnrolFields id={id} v={v} set={(p) => setV((old) => ({ ...old, ...p }))} touched={touched} />
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
