import { test } from 'node:test';
import assert from 'node:assert/strict';
import { trayHost } from './tray-host.js';

test('trayHost: a window instead of the tray where the desktop has no tray host', () => {
  const cases: [string, string, Record<string, string>, boolean][] = [
    ['macOS', 'darwin', {}, true],
    ['Windows', 'win32', {}, true],
    ['KDE', 'linux', { DISPLAY: ':0', XDG_CURRENT_DESKTOP: 'KDE' }, true],
    ['XFCE on Wayland', 'linux', { WAYLAND_DISPLAY: 'wayland-0', XDG_CURRENT_DESKTOP: 'XFCE' }, true],
    ['Ubuntu GNOME', 'linux', { DISPLAY: ':0', XDG_CURRENT_DESKTOP: 'ubuntu:GNOME' }, true],
    ['stock GNOME', 'linux', { DISPLAY: ':0', XDG_CURRENT_DESKTOP: 'GNOME' }, false],
    ['bare X server', 'linux', { DISPLAY: ':99' }, false],
    ['no display', 'linux', { XDG_CURRENT_DESKTOP: 'KDE' }, false],
    ['forced off', 'darwin', { WARREN_TRAY: '0' }, false],
    ['forced on', 'linux', { WARREN_TRAY: '1' }, true],
  ];
  for (const [label, platform, env, want] of cases) {
    const g = trayHost(platform, env);
    assert.equal(g.tray, want, label);
    assert.ok(g.reason.length > 0);
  }
});
