// A key just created: the only time its text exists outside the enrolling system, so it is shown
// once, with a copy button, and never again.
import { useState, type ReactNode } from 'react';
import type { CreatedKey } from '../../src-shared/wire/admin.js';

export function NewKey({ k, onDismiss }: { k: CreatedKey; onDismiss: () => void }): ReactNode {
  const [copied, setCopied] = useState<string | null>(null);
  const copy = (): void => {
    // The Clipboard API exists only in secure contexts (https, or http on loopback).
    if (!navigator.clipboard) {
      setCopied('Copying needs https; select the key and copy it by hand.');
      return;
    }
    navigator.clipboard.writeText(k.key).then(
      () => setCopied('Copied.'),
      () => setCopied('The browser refused to copy; select the key and copy it by hand.'),
    );
  };
  return (
    <div className="card new-key" role="status" aria-label="New enrolment key">
      <p>
        <strong>Key {k.id} created.</strong> Copy it now: <strong>you will not see it again</strong>.
      </p>
      <p>
        <code className="key-text" data-testid="new-key">
          {k.key}
        </code>
      </p>
      {(k.warnings ?? []).map((w) => (
        <p key={w} className="warn">
          {w}
        </p>
      ))}
      <button type="button" className="primary" onClick={copy}>
        Copy
      </button>
      <button type="button" onClick={onDismiss}>
        Done
      </button>
      {copied !== null && <span className="muted"> {copied}</span>}
    </div>
  );
}
