// bridge: how the window reaches the app's main side, behind the one IPC schema. In Electron
// the preload exposes window.warrenIpc (contextBridge); in the browser fallback the page talks
// HTTP to the `warren ui` server that served it: POST api/call/NAME and an EventSource on
// api/events, both relative to the page's own address; the session cookie that server set
// goes with every request to it (same-origin), and nowhere else.
import type { AppState } from '../src-shared/wire/app-state.js';
import { makeInvoker, PRELOAD_GLOBAL, type IpcInvoker, type PreloadApi } from '../src-shared/wire/ipc-schema.js';

/** Bridge is what the store uses: typed calls and the state events. */
export interface Bridge {
  kind: 'electron' | 'browser';
  invoke: IpcInvoker;
  /** onState hears every AppState; onBackend hears whether main itself is reachable. */
  subscribe(onState: (s: AppState) => void, onBackend: (reachable: boolean) => void): () => void;
}

function electronBridge(api: PreloadApi): Bridge {
  return {
    kind: 'electron',
    invoke: makeInvoker((name, arg) => api.invoke(name, arg)),
    subscribe(onState, onBackend) {
      onBackend(true);
      return api.on('state', (payload) => onState(payload as AppState));
    },
  };
}

function browserBridge(): Bridge {
  return {
    kind: 'browser',
    invoke: makeInvoker(async (name, arg) => {
      const res = await fetch(`api/call/${name}`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ arg }),
        cache: 'no-store',
        // The session cookie authenticates the call; same-origin never sends it elsewhere.
        credentials: 'same-origin',
      });
      if (!res.ok) throw new Error(`HTTP ${res.status}: ${(await res.text()).trim().slice(0, 200)}`);
      return res.json();
    }),
    subscribe(onState, onBackend) {
      // EventSource reconnects by itself; between an error and the next message the backend
      // (the `warren ui` process) counts as unreachable.
      const es = new EventSource('api/events');
      es.addEventListener('state', (ev) => {
        onBackend(true);
        try {
          onState(JSON.parse((ev as MessageEvent<string>).data) as AppState);
        } catch {
          // a garbled event is skipped; the next one is a whole state again
        }
      });
      es.addEventListener('error', () => onBackend(false));
      return () => es.close();
    },
  };
}

/** createBridge picks Electron's preload when present, else the browser fallback. */
export function createBridge(): Bridge {
  const api = (window as unknown as Record<string, PreloadApi | undefined>)[PRELOAD_GLOBAL];
  return api ? electronBridge(api) : browserBridge();
}
