// The UI slice: what only this window knows: the open view, the theme choice, actions in
// flight, the last notice and each peer's "why" panel.
import type { StateCreator } from 'zustand';
import type { WhyView } from '../../src-shared/wire/ipc-schema.js';
import type { Store } from './index.js';

/** View is a tab of the window. */
export type View = 'peers' | 'enrol';
/** ThemeChoice: 'system' follows prefers-color-scheme. */
export type ThemeChoice = 'system' | 'light' | 'dark';

/** Notice is the banner after an action: what went wrong, or what happened. */
export interface Notice {
  kind: 'error' | 'ok';
  text: string;
}

/** WhyPanel is one peer's explanation panel. */
export interface WhyPanel {
  open: boolean;
  loading: boolean;
  result: WhyView | null;
  error: string | null;
}

/** UiSlice holds the window's own state. */
export interface UiSlice {
  view: View;
  theme: ThemeChoice;
  /** pending names actions in flight ("tunnel", "exit:Q8QW8", "enrol"). */
  pending: Record<string, boolean>;
  notice: Notice | null;
  why: Record<string, WhyPanel>;
  setView(view: View): void;
  setTheme(theme: ThemeChoice): void;
  setPending(key: string, on: boolean): void;
  showNotice(notice: Notice | null): void;
  setWhy(identity: string, patch: Partial<WhyPanel>): void;
}

const CLOSED: WhyPanel = { open: false, loading: false, result: null, error: null };

export const createUiSlice: StateCreator<Store, [], [], UiSlice> = (set) => ({
  view: 'peers',
  theme: 'system',
  pending: {},
  notice: null,
  why: {},
  setView: (view) => set({ view }),
  setTheme: (theme) => set({ theme }),
  setPending: (key, on) => set((s) => ({ pending: { ...s.pending, [key]: on } })),
  showNotice: (notice) => set({ notice }),
  setWhy: (identity, patch) =>
    set((s) => ({ why: { ...s.why, [identity]: { ...(s.why[identity] ?? CLOSED), ...patch } } })),
});
