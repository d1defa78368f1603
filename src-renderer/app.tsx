// The window's entry: apply the saved theme, connect the store to main, render the shell.
import { createRoot } from 'react-dom/client';
import { createBridge } from './bridge.js';
import { AppShell } from './features/layout/AppShell.js';
import { loadTheme } from './features/theme/theme.js';
import { bindBridge } from './store/actions.js';
import { useStore } from './store/index.js';

useStore.getState().setTheme(loadTheme());
bindBridge(createBridge());
const root = document.getElementById('root');
if (root) createRoot(root).render(<AppShell />);
