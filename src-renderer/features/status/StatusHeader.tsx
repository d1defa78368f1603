// StatusHeader: the tunnel state in words and colour, this system's identity and virtual IP,
// the coordinator's reachability when there is one, and the Connect/Disconnect button.
import { formatAge } from '../../../src-shared/wire/format.js';
import {
  tunnelHeadline,
  type AppState,
  type CoordinatorView,
  type TunnelView,
} from '../../../src-shared/wire/app-state.js';
import { CONDITION_WORDS } from '../../../src-shared/wire/coordinator-view.js';
import { useStore } from '../../store/index.js';
import { Logo } from '../../components/Logo.js';
import { useNow } from '../../hooks/use-now.js';
import { ThemeToggle } from '../theme/ThemeToggle.js';
import { ConnectButton } from './ConnectButton.js';

function stateOf(app: AppState): { key: string; words: string } {
  if (app.link === 'starting') return { key: 'starting', words: 'Starting…' };
  if (app.link === 'down' || app.tunnel === null) {
    return {
      key: 'down',
      words:
        app.problem?.code === 'helper-stopped'
          ? 'Helper stopped'
          : app.problem?.code === 'helper-not-running'
            ? 'Helper not running'
            : 'Helper unreachable',
    };
  }
  return tunnelHeadline(app.tunnel);
}

/** coordinatorFact is the coordinator's URL and condition, with when it was last heard from
 * while it does not answer. */
function coordinatorFact(c: CoordinatorView, now: number): string {
  const heard = c.lastContact !== null && !c.reachable ? ` (last heard ${formatAge(c.lastContact, now)})` : '';
  return `${c.url} — ${CONDITION_WORDS[c.condition]}${heard}`;
}

/** Identity is this system's identity and virtual addresses, IPv4 then IPv6 when it has one. */
function Identity({ t }: { t: TunnelView }) {
  return (
    <div className="identity" data-testid="identity">
      This system: <span className="mono">{t.identity}</span> ·{' '}
      <span className="mono" data-testid="virtual-ip">
        {t.virtualAddress}
      </span>
      {t.virtualAddress6 && (
        <>
          {' · '}
          <span className="mono" data-testid="virtual-ip6">
            {t.virtualAddress6}
          </span>
        </>
      )}
    </div>
  );
}

export function StatusHeader() {
  const app = useStore((s) => s.app);
  const now = useNow();
  const { key, words } = stateOf(app);
  const t = app.link === 'up' ? app.tunnel : null;
  const c = t?.coordinator ?? null;
  return (
    <header className="app-header">
      <div className="brand-row">
        <div className="brand">
          <Logo /> Warren
        </div>
        <div className="spacer" />
        <ThemeToggle />
      </div>
      <div className="status-row">
        <div className="state">
          <span className="state-dot" data-state={key} aria-hidden="true" />
          <div>
            <div className="state-word" data-testid="tunnel-state" data-state={key} aria-live="polite">
              {words}
            </div>
            {t && <Identity t={t} />}
          </div>
        </div>
        <ConnectButton />
      </div>
      {t && (
        <dl className="facts">
          <div>
            <dt>Adapter</dt>
            <dd className="mono">{t.adapter}</dd>
          </div>
          <div>
            <dt>Network</dt>
            <dd className="mono">{t.virtualNetwork}</dd>
          </div>
          {t.virtualNetwork6 && (
            <div>
              <dt>IPv6 network</dt>
              <dd className="mono" data-testid="network6">
                {t.virtualNetwork6}
              </dd>
            </div>
          )}
          {t.policy && (
            <div>
              <dt>Policy</dt>
              <dd>{t.policy.mode === 'allow-all' ? 'allow all' : `${t.policy.active} of ${t.policy.total} active`}</dd>
            </div>
          )}
          {t.providesRoutes.length > 0 && (
            <div>
              <dt>Exit node for</dt>
              <dd className="mono">{t.providesRoutes.join(', ')}</dd>
            </div>
          )}
          {c && (
            <div data-testid="coordinator">
              <dt>Coordinator</dt>
              <dd className="reach" data-reachable={c.reachable} data-condition={c.condition}>
                {coordinatorFact(c, now)}
              </dd>
            </div>
          )}
        </dl>
      )}
    </header>
  );
}
