// WhyPanel: why traffic with a peer is allowed or blocked, as the helper's firewall decides
// it right now (GET /v1/why), one verdict per direction and the helper's own explanation.
import type { WhyPanel as Panel } from '../../store/ui-slice.js';

function Verdict({ label, allowed }: { label: string; allowed: boolean | null }) {
  if (allowed === null) return null;
  return (
    <span className="verdict" data-allowed={allowed}>
      {label}: {allowed ? 'allowed' : 'blocked'}
    </span>
  );
}

export function WhyPanel({ id, panel }: { id: string; panel: Panel }) {
  return (
    <div
      className="why"
      id={id}
      data-testid="why"
      role="region"
      aria-label="Why traffic is allowed or blocked"
      aria-busy={panel.loading}
    >
      {panel.loading && <p>Asking the helper…</p>}
      {panel.error && (
        <p className="banner banner-error" role="alert">
          {panel.error}
        </p>
      )}
      {panel.result && (
        <>
          <div className="verdicts">
            <Verdict label="This system → peer" allowed={panel.result.egress} />
            <Verdict label="Peer → this system" allowed={panel.result.ingress} />
          </div>
          <pre>{panel.result.text}</pre>
        </>
      )}
    </div>
  );
}
