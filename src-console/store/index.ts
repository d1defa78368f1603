// The console's state: whether a session exists, which page is open, and the lists the pages
// show. Pages load through the actions in store/actions.ts; components only read here.
import { create } from 'zustand';
import type { AdminKey, AdminSystem, AdminUser, AuditEntry } from '../../src-shared/wire/admin.js';

export type Page = 'systems' | 'users' | 'keys' | 'policy' | 'audit';
export type SessionState = 'checking' | 'in' | 'out';

export interface ConsoleState {
  session: SessionState;
  /** loginNotice: why the login form is shown again (a wrong token, an ended session). */
  loginNotice: string | null;
  page: Page;
  systems: AdminSystem[] | null;
  systemsError: string | null;
  keys: AdminKey[] | null;
  keysError: string | null;
  users: AdminUser[] | null;
  usersError: string | null;
  audit: AuditEntry[] | null;
  auditError: string | null;
  setSession(s: SessionState, notice?: string | null): void;
  setPage(p: Page): void;
  setSystems(list: AdminSystem[] | null, error: string | null): void;
  setKeys(list: AdminKey[] | null, error: string | null): void;
  setUsers(list: AdminUser[] | null, error: string | null): void;
  setAudit(list: AuditEntry[] | null, error: string | null): void;
}

export const useStore = create<ConsoleState>((set) => ({
  session: 'checking',
  loginNotice: null,
  page: 'systems',
  systems: null,
  systemsError: null,
  keys: null,
  keysError: null,
  users: null,
  usersError: null,
  audit: null,
  auditError: null,
  setSession: (session, notice = null) => set({ session, loginNotice: notice }),
  setPage: (page) => set({ page }),
  // A failed refresh keeps the last list on screen and says why beside it.
  setSystems: (list, error) => set((s) => ({ systems: list ?? s.systems, systemsError: error })),
  setKeys: (list, error) => set((s) => ({ keys: list ?? s.keys, keysError: error })),
  setUsers: (list, error) => set((s) => ({ users: list ?? s.users, usersError: error })),
  setAudit: (list, error) => set((s) => ({ audit: list ?? s.audit, auditError: error })),
}));
