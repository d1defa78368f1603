// AppShell: header, the two tabs (Peers, Enrol) with arrow-key navigation, the problem
// banners, and either the open tab or the "helper down" panel.
import { useRef, type KeyboardEvent } from 'react';
import { useStore } from '../../store/index.js';
import type { View } from '../../store/ui-slice.js';
import { EnrolForm } from '../enrol/EnrolForm.js';
import { PeerList } from '../peers/PeerList.js';
import { HelperDown } from '../problems/HelperDown.js';
import { ProblemBanner } from '../problems/ProblemBanner.js';
import { StatusHeader } from '../status/StatusHeader.js';

const TABS: Array<{ view: View; label: string }> = [
  { view: 'peers', label: 'Peers' },
  { view: 'enrol', label: 'Enrol' },
];

export function AppShell() {
  const app = useStore((s) => s.app);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const refs = useRef<Array<HTMLButtonElement | null>>([]);

  const onKey = (e: KeyboardEvent, i: number) => {
    const step = e.key === 'ArrowRight' ? 1 : e.key === 'ArrowLeft' ? -1 : 0;
    if (step === 0) return;
    e.preventDefault();
    const next = (i + step + TABS.length) % TABS.length;
    setView(TABS[next]!.view);
    refs.current[next]?.focus();
  };

  return (
    <>
      <StatusHeader />
      <nav className="tabs" role="tablist" aria-label="Sections">
        {TABS.map((t, i) => (
          <button
            key={t.view}
            type="button"
            role="tab"
            className="tab"
            id={`tab-${t.view}`}
            aria-controls="panel"
            aria-selected={view === t.view}
            tabIndex={view === t.view ? 0 : -1}
            data-testid={`tab-${t.view}`}
            ref={(el) => {
              refs.current[i] = el;
            }}
            onClick={() => setView(t.view)}
            onKeyDown={(e) => onKey(e, i)}
          >
            {t.label}
          </button>
        ))}
      </nav>
      <main id="panel" role="tabpanel" aria-labelledby={`tab-${view}`}>
        <ProblemBanner />
        {app.link === 'down' ? <HelperDown app={app} /> : view === 'peers' ? <PeerList /> : <EnrolForm />}
      </main>
      <footer>{app.tunnel ? `Warren ${app.tunnel.version}` : 'Warren'}</footer>
    </>
  );
}
