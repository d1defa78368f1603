// The logged-in frame: a header with the pages and logout, and the open page.
import type { ReactNode } from 'react';
import { AuditPage } from '../audit/AuditPage.js';
import { KeysPage } from '../keys/KeysPage.js';
import { PolicyPage } from '../policy/PolicyPage.js';
import { logout } from '../store/actions.js';
import { useStore, type Page } from '../store/index.js';
import { SystemsPage } from '../systems/SystemsPage.js';
import { UsersPage } from '../users/UsersPage.js';

const PAGES: Array<[Page, string]> = [
  ['systems', 'Systems'],
  ['users', 'Users'],
  ['keys', 'Enrolment keys'],
  ['policy', 'Policy'],
  ['audit', 'Audit log'],
];

export function Shell(): ReactNode {
  const page = useStore((s) => s.page);
  const setPage = useStore((s) => s.setPage);
  return (
    <>
      <header className="top">
        <span className="brand">Warren console</span>
        <nav aria-label="Pages">
          {PAGES.map(([p, label]) => (
            <button
              key={p}
              type="button"
              className={p === page ? 'tab current' : 'tab'}
              aria-current={p === page ? 'page' : undefined}
              onClick={() => setPage(p)}
            >
              {label}
            </button>
          ))}
        </nav>
        <button type="button" className="logout" onClick={() => void logout()}>
          Log out
        </button>
      </header>
      <main className="page">
        {page === 'systems' && <SystemsPage />}
        {page === 'users' && <UsersPage />}
        {page === 'keys' && <KeysPage />}
        {page === 'policy' && <PolicyPage />}
        {page === 'audit' && <AuditPage />}
      </main>
    </>
  );
}
