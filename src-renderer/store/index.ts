// The window's one zustand store, made of slices (state from main, the window's own UI state).
import { create } from 'zustand';
import { createStateSlice, type StateSlice } from './state-slice.js';
import { createUiSlice, type UiSlice } from './ui-slice.js';

/** Store is every slice together. */
export type Store = StateSlice & UiSlice;

/** useStore is the hook components read with selectors. */
export const useStore = create<Store>()((...a) => ({
  ...createStateSlice(...a),
  ...createUiSlice(...a),
}));
