// ThemeToggle cycles system → light → dark and says which one is in force.
import { useEffect } from 'react';
import { useStore } from '../../store/index.js';
import { applyTheme, nextTheme } from './theme.js';

const WORDS = { system: 'System theme', light: 'Light theme', dark: 'Dark theme' } as const;
const GLYPHS = { system: '◐', light: '☀', dark: '☾' } as const;

export function ThemeToggle() {
  const theme = useStore((s) => s.theme);
  const setTheme = useStore((s) => s.setTheme);
  useEffect(() => applyTheme(theme), [theme]);
  return (
    <button
      type="button"
      className="btn-ghost"
      data-testid="theme-toggle"
      data-theme-choice={theme}
      onClick={() => setTheme(nextTheme(theme))}
      title={`${WORDS[theme]} (click to change)`}
    >
      <span aria-hidden="true">{GLYPHS[theme]}</span> {WORDS[theme]}
    </button>
  );
}
