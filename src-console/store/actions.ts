// What the console does: log in and out, and load the lists. Changing calls (approve, create a
// key, apply a policy) live beside the components that make them and reload the list after.
import {
  ADMIN_PATHS,
  type AdminKey,
  type AdminSystem,
  type AdminUser,
  type AuditEntry,
} from '../../src-shared/wire/admin.js';
import { CONTROL_PATHS } from '../../src-shared/wire/control.js';
import { api, ApiError, errorText, whenLoggedOut } from '../api.js';
import { useStore } from './index.js';

whenLoggedOut(() => useStore.getState().setSession('out', 'The session ended; log in again.'));

/** checkSession asks whether the browser holds a live session cookie. */
export async function checkSession(): Promise<void> {
  try {
    await api('GET', ADMIN_PATHS.session);
    useStore.getState().setSession('in');
  } catch {
    useStore.getState().setSession('out');
  }
}

/** login exchanges the admin token for a session cookie; a refusal stays on the form. */
export async function login(token: string): Promise<void> {
  try {
    await api('POST', ADMIN_PATHS.session, { token });
    useStore.getState().setSession('in');
  } catch (e) {
    useStore.getState().setSession('out', errorText(e));
  }
}

export async function logout(): Promise<void> {
  try {
    await api('DELETE', ADMIN_PATHS.session);
  } finally {
    useStore.getState().setSession('out', 'Logged out.');
  }
}

export async function loadSystems(): Promise<void> {
  try {
    const r = await api<{ systems: AdminSystem[] }>('GET', CONTROL_PATHS.adminSystems);
    useStore.getState().setSystems(r.systems, null);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) useStore.getState().setSystems(null, errorText(e));
  }
}

export async function loadKeys(): Promise<void> {
  try {
    const r = await api<{ keys: AdminKey[] }>('GET', CONTROL_PATHS.adminKeys);
    useStore.getState().setKeys(r.keys, null);
  } catch (e) {
    useStore.getState().setKeys(null, errorText(e));
  }
}

export async function loadUsers(): Promise<void> {
  try {
    const r = await api<{ users: AdminUser[] }>('GET', ADMIN_PATHS.users);
    useStore.getState().setUsers(r.users, null);
  } catch (e) {
    if (!(e instanceof ApiError && e.status === 401)) useStore.getState().setUsers(null, errorText(e));
  }
}

/** AuditFilter is what the audit page filters by. */
export interface AuditFilter {
  action: string;
  actor: string;
  refusedOnly: boolean;
}

/** loadAudit loads the newest 500 matching entries, newest first. */
export async function loadAudit(f: AuditFilter): Promise<void> {
  const q = new URLSearchParams({ limit: '500' });
  if (f.action.trim() !== '') q.set('action', f.action.trim());
  if (f.actor.trim() !== '') q.set('actor', f.actor.trim());
  if (f.refusedOnly) q.set('refused', '1');
  try {
    const r = await api<{ entries: AuditEntry[] }>('GET', `${CONTROL_PATHS.adminAudit}?${q.toString()}`);
    useStore.getState().setAudit([...r.entries].reverse(), null);
  } catch (e) {
    useStore.getState().setAudit(null, errorText(e));
  }
}
