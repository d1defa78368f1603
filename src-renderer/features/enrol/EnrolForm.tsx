// EnrolForm: joins this system to a coordinator with its URL and either an enrolment key
// ("Enrol") or the person's organisation account ("Sign in", SignIn.tsx), and optionally the
// coordinator's public key. Fields are checked here for the obvious mistakes (main checks
// again, and the helper after it); the helper's answer is shown next to the button. Over plain
// http:// the form asks for the coordinator key, or for an explicit choice to go without it,
// since anyone on the path could otherwise pose as the coordinator (enrolKeyProblem).
import { useEffect, useId, useState, type FormEvent, type InputHTMLAttributes } from 'react';
import { canChange } from '../../../src-shared/wire/app-state.js';
import { ENROL_LIMITS } from '../../../src-shared/wire/helper-api.js';
import { COORDINATOR_KEY_PATTERN, enrolKeyProblem, type ArgOf } from '../../../src-shared/wire/ipc-schema.js';
import { sameCoordinator, type SignInStarted } from '../../../src-shared/wire/login-view.js';
import { cancelSignIn, enrol, signIn } from '../../store/actions.js';
import { useStore } from '../../store/index.js';
import { LapsedSignIn, SignInProgress } from './SignIn.js';

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

/** coordinatorKeyProblem: again (the coordinator this system is enrolled with) needs no key,
 * since the helper checks the one its profile pinned. */
function coordinatorKeyProblem(url: string, coordinatorKey: string, insecure: boolean, again = false): string | null {
  const k = coordinatorKey.trim();
  if (k !== '' && !COORDINATOR_KEY_PATTERN.test(k))
    return 'The coordinator key is 44 characters of base64, as warren-coordinator key prints it.';
  return enrolKeyProblem(url, k, (isHttp(url) && insecure) || again);
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

/** Action is the button the person pressed last. */
type Action = 'enrol' | 'signIn';

/** problemsOf checks the fields the action needs; it goes ahead only when all are null. Signing in
 * needs no enrolment key, and signing in again with the enrolled coordinator no coordinator key. */
function problemsOf(v: EnrolInput, action: Action, enrolledWith: string | undefined) {
  const again = action === 'signIn' && sameCoordinator(enrolledWith, v.url);
  return {
    url: urlProblem(v.url),
    key: action === 'enrol' ? keyProblem(v.key) : null,
    coordinatorKey: coordinatorKeyProblem(v.url, v.coordinatorKey, v.insecure, again),
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
  enrolledWith,
}: {
  id: string;
  v: EnrolInput;
  set: (p: Partial<EnrolInput>) => void;
  touched: Action | null;
  enrolledWith: string | undefined;
}) {
  const errors = problemsOf(v, touched ?? 'enrol', enrolledWith);
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
        hint="For Enrol only: signing in needs none."
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

/** signInArg is the signIn call's argument: the coordinator key only when given, insecure only over http://. */
function signInArg(v: EnrolInput): ArgOf<'signIn'> {
  const { coordinator, coordinatorKey, insecure } = argOf(v);
  return {
    coordinator,
    ...(coordinatorKey !== undefined ? { coordinatorKey } : {}),
    ...(insecure !== undefined ? { insecure } : {}),
  };
}

/** useSignIn is the Sign in button's work: this window's start (URL and code) and its error. */
function useSignIn() {
  const [started, setStarted] = useState<SignInStarted | null>(null);
  const [error, setError] = useState<string | null>(null);
  const start = async (arg: ArgOf<'signIn'>) => {
    setError(null);
    setStarted(null);
    const r = await signIn(arg);
    if (r === null) return;
    if (r.ok) setStarted(r.value);
    else setError(r.error.message);
  };
  return { started, error, start };
}

/** FormActions are the two buttons, and why they are off for a read-only user. */
function FormActions(p: { signInLabel: string; signInWaits: boolean; pending: boolean; onSignIn: () => void }) {
  const app = useStore((s) => s.app);
  return (
    <div className="form-actions">
      <button
        type="button"
        className="btn btn-primary"
        data-testid="sign-in-submit"
        disabled={p.signInWaits}
        onClick={p.onSignIn}
      >
        {p.signInLabel}
      </button>
      <button type="submit" className="btn" data-testid="enrol-submit">
        {p.pending ? 'Working…' : 'Enrol with the key'}
      </button>
      {!canChange(app) && app.access && (
        <span className="hint">
          Read-only: signing in and enrolling need root or the <code>{app.access.operatorGroup}</code> group.
        </span>
      )}
    </div>
  );
}

export function EnrolForm() {
  const app = useStore((s) => s.app);
  const pending = useStore((s) => s.pending.enrol === true || s.pending.signIn === true);
  const enrolledWith = app.tunnel?.coordinator?.url;
  const [v, setV] = useState<EnrolInput>({ url: enrolledWith ?? '', key: '', coordinatorKey: '', insecure: false });
  // The helper may tell which coordinator it is enrolled with only after the tab opened (it was
  // starting): an empty address then takes it, for signing in again.
  useEffect(() => {
    if (enrolledWith) setV((old) => (old.url === '' ? { ...old, url: enrolledWith } : old));
  }, [enrolledWith]);
  const [touched, setTouched] = useState<Action | null>(null);
  const [outcome, setOutcome] = useState<{ ok: boolean; text: string } | null>(null);
  const id = useId();
  const may = canChange(app);
  const sign = useSignIn();
  const login = app.tunnel?.login ?? null;
  const lapsed = app.tunnel?.signIn?.lapsed === true;

  const submit = async (action: Action) => {
    setTouched(action);
    if (Object.values(problemsOf(v, action, enrolledWith)).some((p) => p !== null)) return;
    if (action === 'signIn') return sign.start(signInArg(v));
    setOutcome(null);
    const r = await enrol(argOf(v));
    if (r === null) return;
    setOutcome(r.ok ? { ok: true, text: r.value.message } : { ok: false, text: r.error.message });
    if (r.ok) setV((old) => ({ ...old, key: '' }));
  };
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    void submit('enrol');
  };

  return (
    <section className="card" aria-labelledby={`${id}-title`} data-testid="enrol-view">
      <h2 id={`${id}-title`}>Sign in or enrol with a coordinator</h2>
      <p className="hint">
        A coordinator hands this system its address, peers and policies. Sign in with your organisation&apos;s account,
        or enrol with an enrolment key; for an http:// address you also need the coordinator&apos;s key, which your
        administrator gives you.
      </p>
      {app.tunnel?.coordinator && (
        <p className="hint">
          Currently enrolled with <code>{app.tunnel.coordinator.url}</code>
          {app.tunnel.signIn ? <> as {app.tunnel.signIn.user}</> : null}.
        </p>
      )}
      <LapsedSignIn signIn={app.tunnel?.signIn ?? null} />
      <form onSubmit={onSubmit} noValidate>
        <fieldset disabled={!may || pending} style={{ border: 0, padding: 0, margin: 0 }}>
          <EnrolFields
            id={id}
            v={v}
            set={(p) => setV((old) => ({ ...old, ...p }))}
            touched={touched}
            enrolledWith={enrolledWith}
          />
          <FormActions
            signInLabel={lapsed ? 'Sign in again' : 'Sign in'}
            signInWaits={login?.state === 'waiting'}
            pending={pending}
            onSignIn={() => void submit('signIn')}
          />
        </fieldset>
      </form>
      <SignInProgress
        started={sign.started}
        login={login}
        error={sign.error}
        {...(may ? { onCancel: () => void cancelSignIn() } : {})}
      />
      {outcome && <Outcome ok={outcome.ok} text={outcome.text} />}
    </section>
  );
}
