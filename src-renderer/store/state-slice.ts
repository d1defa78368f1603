// The state slice: the AppState main sends (a snapshot, then every change) and whether main
// itself answers. Nothing here is derived; components derive what they show.
import type { StateCreator } from 'zustand';
import { initialAppState, type AppState } from '../../src-shared/wire/app-state.js';
import type { Store } from './index.js';

/** StateSlice holds what main says. */
export interface StateSlice {
  app: AppState;
  /** backendReachable: false while the window cannot reach main (warren ui stopped). */
  backendReachable: boolean;
  setApp(app: AppState): void;
  setBackendReachable(reachable: boolean): void;
}

export const createStateSlice: StateCreator<Store, [], [], StateSlice> = (set) => ({
  app: initialAppState(),
  backendReachable: true,
  setApp: (app) => set({ app }),
  setBackendReachable: (backendReachable) => set({ backendReachable }),
});
