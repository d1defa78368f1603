// The Electron shell's entry: one instance per user, a tray icon that follows the tunnel (or
// the window at once where the desktop has no tray), notifications when the tunnel drops, and
// the window for the peer list. It talks to the helper only through AppBackend, that is
// src-shared/lib/helper-client/client.ts; the page only through the IPC schema.
import { app, Notification, shell } from 'electron';
import { DEFAULT_SOCKET_PATH } from '../../src-shared/wire/helper-api.js';
import { AppBackend } from '../app-backend.js';
import { dropNotice, trayModel, type TrayAction } from '../tray-state.js';
import { trayHost } from '../tray-host.js';
import { registerIpc } from './ipc.js';
import { shellPaths } from './paths.js';
import { WarrenTray } from './tray.js';
import { hardenContents, hardenSessions, MainWindow } from './windows.js';

// A disconnect from this app is not news: no notification for this long after asking.
const EXPECTED_DROP_MS = 5000;

if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  void start();
}

/** openExternal hands a sign-in URL to the person's browser; the backend has checked it is
 * http(s) (login-view.ts isOpenableUrl) before this. */
function openExternal(url: string): boolean {
  shell.openExternal(url).catch(() => undefined);
  return true;
}

async function start(): Promise<void> {
  app.on('web-contents-created', (_e, contents) => hardenContents(contents));
  await app.whenReady();
  hardenSessions();

  const backend = new AppBackend({
    socketPath: process.env.WARREN_SOCKET || DEFAULT_SOCKET_PATH,
    openUrl: openExternal,
  });
  const host = trayHost(process.platform, process.env);
  const window = new MainWindow(host.tray);
  let askedToDrop = 0;
  registerIpc(backend);

  const notify = (title: string, body: string): void => {
    if (Notification.isSupported()) new Notification({ title, body }).show();
  };
  const run = async (what: string, call: () => Promise<unknown>): Promise<void> => {
    try {
      await call();
    } catch (e) {
      notify(`Warren: could not ${what}`, (e as Error).message);
    }
  };
  const act = (a: TrayAction): void => {
    switch (a.kind) {
      case 'connect':
        void run('connect', () => backend.handlers.connect());
        break;
      case 'disconnect':
        askedToDrop = Date.now();
        void run('disconnect', () => backend.handlers.disconnect());
        break;
      case 'use-exit':
        void run('switch the exit node', () => backend.handlers.useExitNode({ identity: a.identity, use: a.use }));
        break;
      case 'show-peers':
        window.show();
        break;
      case 'quit':
        app.quit();
        break;
    }
  };

  let tray: WarrenTray | null = null;
  if (host.tray) {
    try {
      tray = new WarrenTray(shellPaths.assets, act);
    } catch (e) {
      console.error(`warren: no tray (${(e as Error).message}); showing the window instead`);
    }
  } else {
    console.error(`warren: no tray (${host.reason}); showing the window instead`);
  }
  if (tray === null) window.show();

  let prev = backend.current();
  backend.onState((s) => {
    tray?.update(trayModel(s));
    const n = dropNotice(prev, s, Date.now() - askedToDrop < EXPECTED_DROP_MS);
    if (n) notify(n.title, n.body);
    prev = s;
  });
  tray?.update(trayModel(prev));
  backend.start();

  app.on('second-instance', () => window.show());
  // With a tray the app lives on when the window closes; without one, closing it quits.
  app.on('window-all-closed', () => {
    if (tray === null) app.quit();
  });
  app.on('before-quit', () => {
    backend.stop();
    tray?.destroy();
  });
}
