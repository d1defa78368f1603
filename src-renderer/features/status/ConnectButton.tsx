// ConnectButton: the one big button. It offers what makes sense in the current state and is
// greyed out, with the reason as its title, when this user may not change things.
import { canChange } from '../../../src-shared/wire/app-state.js';
import { connect, disconnect } from '../../store/actions.js';
import { useStore } from '../../store/index.js';

export function ConnectButton() {
  const app = useStore((s) => s.app);
  const pending = useStore((s) => s.pending.tunnel === true);
  if (app.link !== 'up' || app.tunnel === null) return null;
  const state = app.tunnel.state;
  const offerConnect = state === 'disconnected' || state === 'error';
  const may = canChange(app);
  const why = !may && app.access ? `Read-only: needs root or the "${app.access.operatorGroup}" group` : undefined;
  return (
    <button
      type="button"
      data-testid={offerConnect ? 'connect' : 'disconnect'}
      className={`btn-big ${offerConnect ? 'btn-connect' : 'btn-disconnect'}`}
      disabled={!may || pending || state === 'connecting'}
      title={why}
      aria-busy={pending}
      onClick={() => void (offerConnect ? connect() : disconnect())}
    >
      {pending ? (offerConnect ? 'Connecting…' : 'Disconnecting…') : offerConnect ? 'Connect' : 'Disconnect'}
    </button>
  );
}
