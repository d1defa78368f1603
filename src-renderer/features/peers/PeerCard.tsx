// PeerCard: one peer with its addresses, handshake, traffic and tags, its exit-node switch
// when it offers routes, and the "why" panel.
import type { ReactNode } from 'react';
import { formatAge, formatBytes, formatPath } from '../../../src-shared/wire/format.js';
import type { PeerView } from '../../../src-shared/wire/app-state.js';
import { setExitNode, toggleWhy } from '../../store/actions.js';
import { useStore } from '../../store/index.js';
import { WhyPanel } from './WhyPanel.js';

function Fact({ label, children, testId }: { label: string; children: ReactNode; testId?: string }) {
  return (
    <div>
      <dt>{label}</dt>
      <dd data-testid={testId}>{children}</dd>
    </div>
  );
}

/** PeerHead is the peer's name line with its online dot and the why button. */
function PeerHead({ peer, whyOpen, whyId }: { peer: PeerView; whyOpen: boolean; whyId: string }) {
  return (
    <div className="peer-head">
      <span className="online" data-online={peer.online} title={peer.online ? 'online' : 'nothing heard recently'} />
      <span className="peer-name" data-testid="peer-name">
        {peer.label}
      </span>
      <span className="peer-id mono">{peer.identity}</span>
      <span className="visually-hidden">{peer.online ? 'online' : 'offline'}</span>
      <span className="spacer" />
      <button
        type="button"
        className="btn"
        data-testid="why-button"
        aria-expanded={whyOpen}
        aria-controls={whyId}
        onClick={() => void toggleWhy(peer.identity)}
      >
        {whyOpen ? 'Hide why' : 'Why allowed?'}
      </button>
    </div>
  );
}

/** PeerFacts lists the peer's names, addresses, path, handshake, traffic and tags. */
function PeerFacts({ peer, now }: { peer: PeerView; now: number }) {
  return (
    <dl className="peer-facts">
      <Fact label="DNS name" testId="dns-name">
        {peer.dnsName ?? '—'}
      </Fact>
      <Fact label="Virtual IP" testId="peer-ip">
        <span className="mono">{peer.virtualIp ?? '—'}</span>
      </Fact>
      {peer.virtualIp6 && (
        <Fact label="Virtual IPv6" testId="peer-ip6">
          <span className="mono">{peer.virtualIp6}</span>
        </Fact>
      )}
      <Fact label="Endpoint" testId="endpoint">
        <span className="mono">{peer.endpoint ?? 'unknown'}</span>
      </Fact>
      {peer.path && (
        <Fact label="Path" testId="path">
          <span data-path={peer.path.type}>{formatPath(peer.path)}</span>
        </Fact>
      )}
      <Fact label="Last handshake" testId="handshake">
        {formatAge(peer.lastHandshake, now)}
      </Fact>
      <Fact label="Received" testId="rx">
        <span data-bytes={peer.rxBytes}>{formatBytes(peer.rxBytes)}</span>
      </Fact>
      <Fact label="Sent" testId="tx">
        <span data-bytes={peer.txBytes}>{formatBytes(peer.txBytes)}</span>
      </Fact>
      <Fact label="Tags" testId="tags">
        {peer.tags.length === 0 ? (
          '—'
        ) : (
          <span className="tags">
            {peer.tags.map((t) => (
              <span className="tag" key={t}>
                {t}
              </span>
            ))}
          </span>
        )}
      </Fact>
    </dl>
  );
}

/** ExitSwitch routes the peer's exit routes through it or not. */
function ExitSwitch({ peer, disabled }: { peer: PeerView; disabled: boolean }) {
  return (
    <div className="exit" data-testid="exit">
      <span className="label" id={`exit-label-${peer.identity}`}>
        Exit node for <span className="mono">{peer.exitRoutes.join(', ')}</span> —{' '}
        {peer.exitInUse ? 'routing through it' : 'not used'}
      </span>
      <button
        type="button"
        role="switch"
        className="switch"
        data-testid="exit-switch"
        aria-checked={peer.exitInUse}
        aria-labelledby={`exit-label-${peer.identity}`}
        disabled={disabled}
        onClick={() => void setExitNode(peer.identity, !peer.exitInUse)}
      />
    </div>
  );
}

export function PeerCard({
  peer,
  now,
  may,
  tunnelUp,
}: {
  peer: PeerView;
  now: number;
  may: boolean;
  tunnelUp: boolean;
}) {
  const why = useStore((s) => s.why[peer.identity]);
  const pending = useStore((s) => s.pending[`exit:${peer.identity}`] === true);
  const whyId = `why-${peer.identity}`;
  return (
    <li className="peer" data-testid="peer" data-identity={peer.identity} aria-label={`Peer ${peer.label}`}>
      <PeerHead peer={peer} whyOpen={why?.open === true} whyId={whyId} />
      <PeerFacts peer={peer} now={now} />
      {peer.exitRoutes.length > 0 && <ExitSwitch peer={peer} disabled={!may || !tunnelUp || pending} />}
      {why?.open && <WhyPanel id={whyId} panel={why} />}
    </li>
  );
}
