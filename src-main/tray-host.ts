// trayHost: whether this desktop shows tray icons, so the shell can open a window instead
// where it does not (stock GNOME has no tray since 3.26; a bare X server or a kiosk has none).
// Linux offers no reliable query before the icon is made, so this reads the session's
// environment; WARREN_TRAY=0 or 1 overrides the guess.

/** TrayHostGuess is the decision and the reason, for the log. */
export interface TrayHostGuess {
  tray: boolean;
  reason: string;
}

/** trayHost guesses from the platform and the environment. */
export function trayHost(platform: string, env: Record<string, string | undefined>): TrayHostGuess {
  if (env.WARREN_TRAY === '0') return { tray: false, reason: 'WARREN_TRAY=0' };
  if (env.WARREN_TRAY === '1') return { tray: true, reason: 'WARREN_TRAY=1' };
  if (platform === 'darwin' || platform === 'win32') return { tray: true, reason: `${platform} always has a tray` };
  if (!env.DISPLAY && !env.WAYLAND_DISPLAY)
    return { tray: false, reason: 'no graphical session (DISPLAY and WAYLAND_DISPLAY unset)' };
  const desktop = (env.XDG_CURRENT_DESKTOP ?? '').toLowerCase().split(':');
  if (desktop.includes('gnome') && !desktop.includes('unity') && !desktop.includes('ubuntu')) {
    // Ubuntu's GNOME ships the AppIndicator extension; stock GNOME does not.
    return { tray: false, reason: 'GNOME without the AppIndicator extension has no tray' };
  }
  if (desktop.every((d) => d === ''))
    return { tray: false, reason: 'no desktop environment named (XDG_CURRENT_DESKTOP unset)' };
  return { tray: true, reason: `desktop ${env.XDG_CURRENT_DESKTOP} has a tray` };
}
