// HelperDown: the whole content area when the helper cannot be reached, saying why, what to
// do, and when the next attempt is (the window reconnects by itself).
import { useEffect, useState } from 'react';
import type { AppState } from '../../../src-shared/wire/app-state.js';

const TITLES: Record<string, string> = {
  'helper-not-running': 'The Warren helper is not running',
  'helper-stopped': 'The Warren helper stopped and left changes behind',
  'permission-denied': 'This user may not talk to the helper',
  'untrusted-socket': 'Refusing an untrusted helper socket',
};

export function HelperDown({ app }: { app: AppState }) {
  const [since, setSince] = useState(() => Date.now());
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => setSince(Date.now()), [app.retryInMs, app.problem?.message]);
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), 250);
    return () => clearInterval(t);
  }, []);
  const left = app.retryInMs === null ? null : Math.max(0, Math.ceil((since + app.retryInMs - now) / 1000));
  const code = app.problem?.code ?? 'helper-not-running';
  return (
    <section className="empty" data-testid="helper-down" data-code={code} aria-labelledby="down-title">
      <h2 id="down-title">{app.problem?.title ?? TITLES[code] ?? 'Cannot reach the helper'}</h2>
      <p>{app.problem?.message ?? 'Waiting for the helper to answer.'}</p>
      <p aria-live="off">{left === null || left === 0 ? 'Trying again now…' : `Trying again in ${left} s.`}</p>
    </section>
  );
}
