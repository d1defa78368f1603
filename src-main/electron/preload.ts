// The preload (sandboxed, context-isolated): the page's only door to main. It exposes
// PreloadApi under window.warrenIpc and nothing else: no ipcRenderer, no Node. Names are
// checked against the schema here as well as in main, so a page cannot reach other channels.
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import {
  CALL_NAMES,
  EVENT_NAMES,
  PRELOAD_GLOBAL,
  channelOf,
  type CallName,
  type EventName,
  type PreloadApi,
} from '../../src-shared/wire/ipc-schema.js';

const api: PreloadApi = {
  invoke(name: CallName, arg: unknown): Promise<unknown> {
    if (!CALL_NAMES.includes(name)) return Promise.reject(new Error('no such call'));
    return ipcRenderer.invoke(channelOf('call', name), arg);
  },
  on(event: EventName, listener: (payload: unknown) => void): () => void {
    if (!EVENT_NAMES.includes(event) || typeof listener !== 'function') return () => undefined;
    const channel = channelOf('event', event);
    const handler = (_e: IpcRendererEvent, payload: unknown): void => listener(payload);
    ipcRenderer.on(channel, handler);
    return () => {
      ipcRenderer.removeListener(channel, handler);
    };
  },
};

contextBridge.exposeInMainWorld(PRELOAD_GLOBAL, api);
