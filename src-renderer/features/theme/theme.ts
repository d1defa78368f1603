// Theme: 'system' follows prefers-color-scheme (no data-theme attribute), 'light' and 'dark'
// pin it. The choice is kept in localStorage, which may be unavailable (then it lasts a session).
import type { ThemeChoice } from '../../store/ui-slice.js';

const KEY = 'warren.theme';
const CHOICES: ThemeChoice[] = ['system', 'light', 'dark'];

/** loadTheme reads the saved choice. */
export function loadTheme(): ThemeChoice {
  try {
    const v = window.localStorage.getItem(KEY);
    return CHOICES.includes(v as ThemeChoice) ? (v as ThemeChoice) : 'system';
  } catch {
    return 'system';
  }
}

/** applyTheme sets the attribute the stylesheet keys on and saves the choice. */
export function applyTheme(choice: ThemeChoice): void {
  const root = document.documentElement;
  if (choice === 'system') delete root.dataset.theme;
  else root.dataset.theme = choice;
  try {
    window.localStorage.setItem(KEY, choice);
  } catch {
    // private mode or a sandboxed origin: the choice lasts this session
  }
}

/** nextTheme is the choice after a click on the toggle. */
export function nextTheme(choice: ThemeChoice): ThemeChoice {
  return CHOICES[(CHOICES.indexOf(choice) + 1) % CHOICES.length]!;
}
