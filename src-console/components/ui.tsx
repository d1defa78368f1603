// Small shared pieces: an inline error line, a state badge, a two-step confirm button, times.
import { useState, type ReactNode } from 'react';

export function ErrorLine({ text }: { text: string | null }): ReactNode {
  return text === null ? null : (
    <p className="error" role="alert">
      {text}
    </p>
  );
}

export function Badge({ kind, children }: { kind: string; children: ReactNode }): ReactNode {
  return <span className={`badge badge-${kind}`}>{children}</span>;
}

/** ConfirmButton asks once more before a step that cannot be undone (revoke, delete). */
export function ConfirmButton(props: {
  label: string;
  question: string;
  danger?: boolean;
  /** explained: the question is a sentence or two (it wraps above the buttons). */
  explained?: boolean;
  onConfirm: () => void;
}): ReactNode {
  const [asking, setAsking] = useState(false);
  if (!asking)
    return (
      <button type="button" className={props.danger ? 'danger' : ''} onClick={() => setAsking(true)}>
        {props.label}
      </button>
    );
  return (
    <span className={props.explained ? 'confirm explained' : 'confirm'}>
      <span>{props.question}</span>
      <button
        type="button"
        className="danger"
        onClick={() => {
          setAsking(false);
          props.onConfirm();
        }}
      >
        Yes, {props.label.toLowerCase()}
      </button>
      <button type="button" onClick={() => setAsking(false)}>
        Cancel
      </button>
    </span>
  );
}

/** when writes a Unix-ms time as local date and time, or a dash. */
export function when(ms: number | null): string {
  if (ms === null) return '–';
  const d = new Date(ms);
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`;
}

/** list splits "a, b,c" into ["a", "b", "c"]. */
export function list(text: string): string[] {
  return text
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
}
