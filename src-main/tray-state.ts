// The tray as data: which icon, which tooltip and which menu follow from the AppState. Pure,
// so it is unit-tested here and the Electron shell only renders the model (electron/tray.ts).
import { canChange, exitChoices, tunnelHeadline, type AppState } from '../src-shared/wire/app-state.js';
import { STATE_WORDS } from '../src-shared/wire/format.js';

/** TrayIcon names an icon in assets/ (tray-<name>.png). 'pending' is a tunnel that is up but
 * waits for an admin's approval; 'problem' is one that is up but refused by the coordinator
 * (revoked, rejected, wrong key) or reporting a problem: neither reaches what a green icon
 * promises. */
export type TrayIcon = 'connected' | 'connecting' | 'disconnected' | 'error' | 'pending' | 'problem';

/** TrayAction is what a menu item does when chosen. */
export type TrayAction =
  | { kind: 'connect' }
  | { kind: 'disconnect' }
  | { kind: 'use-exit'; identity: string; use: boolean }
  | { kind: 'show-peers' }
  | { kind: 'quit' };

/** MenuItem is one entry of the tray menu. */
export type MenuItem =
  | { type: 'label'; label: string }
  | { type: 'separator' }
  | { type: 'action'; label: string; enabled: boolean; action: TrayAction }
  | { type: 'checkbox'; label: string; checked: boolean; enabled: boolean; action: TrayAction }
  | { type: 'submenu'; label: string; enabled: boolean; items: MenuItem[] };

/** TrayModel is everything the tray shows. */
export interface TrayModel {
  icon: TrayIcon;
  tooltip: string;
  menu: MenuItem[];
}

/** trayIcon: the helper out of reach is an error; before the first answer, connecting. */
export function trayIcon(s: AppState): TrayIcon {
  if (s.link === 'down') return 'error';
  if (s.link === 'starting' || s.tunnel === null) return 'connecting';
  const t = s.tunnel;
  if (t.state !== 'connected') return t.state;
  if (t.held === 'pending-approval') return 'pending';
  // Any other hold (revoked, rejected, wrong key, no map yet) or a problem the helper reports.
  if (t.held !== null || t.problems.length > 0) return 'problem';
  return 'connected';
}

/** trayDetail is the tooltip's tail: the peers online when all is well, else the first
 * problem (which says what to do) or, for a hold, that nobody is reachable. */
function trayDetail(s: AppState): string {
  if (!s.tunnel || s.link !== 'up') return '';
  const t = s.tunnel;
  if (t.state === 'connected' && t.held === 'pending-approval') return '; an admin must approve this system';
  if (t.state === 'connected' && t.problems.length > 0) {
    const more = t.problems.length > 1 ? ` (+${t.problems.length - 1} more)` : '';
    return `; problem${more}: ${t.problems[0]}`;
  }
  if (t.state === 'connected' && t.held !== null) return '; no peers reachable';
  const online = s.peers.filter((p) => p.online).length;
  return `, ${online} of ${s.peers.length} peers online`;
}

/** headline is the one line that says how things stand. */
export function headline(s: AppState): string {
  if (s.link === 'down') {
    // A helper that stopped and left its kill switch holding traffic is the headline itself.
    if (s.problem?.code === 'helper-stopped') return s.problem.title ?? 'The helper stopped and left changes behind';
    return s.problem?.code === 'helper-not-running' ? 'The helper is not running' : 'Cannot reach the helper';
  }
  if (s.link === 'starting' || s.tunnel === null) return 'Starting…';
  const t = s.tunnel;
  if (t.state === 'error') return `Error${t.error ? `: ${t.error}` : ''}`;
  return `${tunnelHeadline(t).words} as ${t.identity} (${t.virtualAddress})`;
}

// Tooltips are short on every desktop (and cut at 127 bytes on Windows).
const TOOLTIP_MAX = 120;

/** trayModel maps the state to icon, tooltip and menu. */
export function trayModel(s: AppState): TrayModel {
  const tooltip = `Warren: ${headline(s)}${trayDetail(s)}`;
  // Cut on a character, with an ellipsis, so a long problem reads as cut rather than wrong.
  const cut =
    tooltip.length > TOOLTIP_MAX
      ? `${Array.from(tooltip)
          .slice(0, TOOLTIP_MAX - 1)
          .join('')}…`
      : tooltip;
  const may = canChange(s);
  const state = s.tunnel?.state;
  const menu: MenuItem[] = [{ type: 'label', label: headline(s) }];
  if (s.access && !s.access.privileged && s.link === 'up') {
    menu.push({ type: 'label', label: `Read-only: join the "${s.access.operatorGroup}" group to change things` });
  }
  menu.push({ type: 'separator' });
  if (state === 'disconnected' || state === 'error') {
    menu.push({ type: 'action', label: 'Connect', enabled: may, action: { kind: 'connect' } });
  } else {
    menu.push({
      type: 'action',
      label: 'Disconnect',
      enabled: may && state === 'connected',
      action: { kind: 'disconnect' },
    });
  }
  const exits = exitChoices(s);
  menu.push({
    type: 'submenu',
    label: 'Exit nodes',
    enabled: exits.length > 0,
    items:
      exits.length === 0
        ? [{ type: 'label', label: 'No exit nodes available' }]
        : exits.map((e) => ({
            type: 'checkbox' as const,
            label: `${e.label}: ${e.routes.join(', ')}`,
            checked: e.inUse,
            enabled: may && state === 'connected',
            action: { kind: 'use-exit' as const, identity: e.identity, use: !e.inUse },
          })),
  });
  menu.push({ type: 'action', label: 'Show peers…', enabled: true, action: { kind: 'show-peers' } });
  menu.push({ type: 'separator' });
  menu.push({ type: 'action', label: 'Quit Warren', enabled: true, action: { kind: 'quit' } });
  return { icon: trayIcon(s), tooltip: cut, menu };
}

/** dropNotice is the desktop notification when the tunnel drops (connected before, not now),
 * or null; a drop the person asked for (expected) says nothing. */
export function dropNotice(prev: AppState, next: AppState, expected = false): { title: string; body: string } | null {
  const was = prev.link === 'up' && prev.tunnel?.state === 'connected';
  const is = next.link === 'up' && next.tunnel?.state === 'connected';
  if (!was || is || expected) return null;
  if (next.link === 'down') {
    return { title: 'Warren: tunnel lost', body: next.problem?.message ?? 'The helper stopped answering.' };
  }
  const st = next.tunnel?.state ?? 'connecting';
  return {
    title: `Warren: ${STATE_WORDS[st].replace('…', '')}`,
    body: st === 'error' && next.tunnel?.error ? next.tunnel.error : 'Traffic through the overlay is stopped.',
  };
}
