// The peer-list window, hardened (DESIGN.md convention 7): context isolation, the sandbox, no
// Node in the page, the CSP of index.html, and no navigation, new windows, webviews or
// permissions. Closing it hides it while the tray lives, so state and position survive.
import { app, BrowserWindow, session, type WebContents } from 'electron';
import { indexUrl, shellPaths } from './paths.js';

/** hardenContents blocks everything a page could use to leave index.html. */
export function hardenContents(contents: WebContents): void {
  contents.setWindowOpenHandler(() => ({ action: 'deny' }));
  contents.on('will-navigate', (e, url) => {
    if (url !== indexUrl) e.preventDefault();
  });
  contents.on('will-redirect', (e) => e.preventDefault());
  contents.on('will-attach-webview', (e) => e.preventDefault());
}

/** hardenSessions refuses every permission request (camera, notifications from the page, ...). */
export function hardenSessions(): void {
  session.defaultSession.setPermissionRequestHandler((_wc, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);
}

/** MainWindow shows, hides and recreates the one window. */
export class MainWindow {
  private win: BrowserWindow | null = null;
  private quitting = false;

  constructor(private readonly hideOnClose: boolean) {
    app.on('before-quit', () => {
      this.quitting = true;
    });
  }

  /** current is the window if it exists. */
  get current(): BrowserWindow | null {
    return this.win && !this.win.isDestroyed() ? this.win : null;
  }

  /** show brings the window up, creating it on first use. */
  show(): BrowserWindow {
    const existing = this.current;
    if (existing) {
      if (existing.isMinimized()) existing.restore();
      existing.show();
      existing.focus();
      return existing;
    }
    const win = new BrowserWindow({
      width: 520,
      height: 760,
      minWidth: 360,
      minHeight: 420,
      show: false,
      title: 'Warren',
      autoHideMenuBar: true,
      webPreferences: {
        preload: shellPaths.preload,
        contextIsolation: true,
        sandbox: true,
        nodeIntegration: false,
        nodeIntegrationInWorker: false,
        nodeIntegrationInSubFrames: false,
        webSecurity: true,
        allowRunningInsecureContent: false,
        webviewTag: false,
        spellcheck: false,
        devTools: !app.isPackaged,
      },
    });
    hardenContents(win.webContents);
    win.once('ready-to-show', () => win.show());
    win.on('close', (e) => {
      if (this.hideOnClose && !this.quitting) {
        e.preventDefault();
        win.hide();
      }
    });
    void win.loadFile(shellPaths.index);
    this.win = win;
    return win;
  }
}
