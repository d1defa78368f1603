// IPC handlers: one per call of the schema, each checking that the message comes from our own
// page and then handing name and argument to dispatchCall, which checks the argument before
// any handler runs. The state event goes to every window after every change.
import { BrowserWindow, ipcMain, type IpcMainInvokeEvent } from 'electron';
import type { AppBackend } from '../app-backend.js';
import { toProblem } from '../app-backend.js';
import { CALL_NAMES, channelOf, dispatchCall, type IpcResult } from '../../src-shared/wire/ipc-schema.js';
import { indexUrl } from './paths.js';

// fromOurPage: only the top frame of our own index.html may call (not an iframe, not a page
// that somehow navigated elsewhere).
function fromOurPage(e: IpcMainInvokeEvent): boolean {
  const frame = e.senderFrame;
  return frame !== null && frame.parent === null && frame.url.split('#', 1)[0] === indexUrl;
}

/** registerIpc installs the handlers and forwards state; it returns the function that undoes it. */
export function registerIpc(backend: AppBackend): () => void {
  for (const name of CALL_NAMES) {
    ipcMain.handle(channelOf('call', name), async (e, arg: unknown): Promise<IpcResult<unknown>> => {
      if (!fromOurPage(e))
        return { ok: false, error: { code: 'forbidden', message: "calls are only accepted from Warren's own window" } };
      return dispatchCall(backend.handlers, name, arg, toProblem);
    });
  }
  const off = backend.onState((s) => {
    for (const w of BrowserWindow.getAllWindows()) {
      if (!w.isDestroyed()) w.webContents.send(channelOf('event', 'state'), s);
    }
  });
  return () => {
    off();
    for (const name of CALL_NAMES) ipcMain.removeHandler(channelOf('call', name));
  };
}
