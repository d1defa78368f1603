// PeerList: every peer, online ones counted in the heading; ages tick every second.
import { canChange, noPeersText } from '../../../src-shared/wire/app-state.js';
import { onlineSummary } from '../../../src-shared/wire/peer-online.js';
import { useStore } from '../../store/index.js';
import { useNow } from '../../hooks/use-now.js';
import { PeerCard } from './PeerCard.js';

export function PeerList() {
  const app = useStore((s) => s.app);
  const now = useNow();
  const may = canChange(app);
  const online = app.peers.filter((p) => p.online).length;
  return (
    <section aria-labelledby="peers-title" data-testid="peers-view">
      <div className="section-head">
        <h2 id="peers-title">Peers</h2>
        <span className="count" data-testid="peer-count">
          {onlineSummary(online, app.peers.length)}
        </span>
      </div>
      {app.peers.length === 0 ? (
        <p className="empty" data-testid="no-peers">
          {noPeersText(app.tunnel)}
        </p>
      ) : (
        <ul className="peers">
          {app.peers.map((p) => (
            <PeerCard key={p.identity} peer={p} now={now} may={may} tunnelUp={app.tunnel?.state === 'connected'} />
          ))}
        </ul>
      )}
    </section>
  );
}
