// The web console's entry: find out whether a session exists, then show the login or the pages.
import { useEffect, type ReactNode } from 'react';
import { createRoot } from 'react-dom/client';
import { Shell } from './layout/Shell.js';
import { Login } from './login/Login.js';
import { checkSession } from './store/actions.js';
import { useStore } from './store/index.js';

function Console(): ReactNode {
  const session = useStore((s) => s.session);
  useEffect(() => {
    void checkSession();
  }, []);
  if (session === 'checking') return <p className="boot">Loading the Warren console…</p>;
  return session === 'in' ? <Shell /> : <Login />;
}

const root = document.getElementById('root');
if (root) createRoot(root).render(<Console />);
