/**
 * Fleet counts from /api/overview. The hub computes them (it knows revoked devices and fleets
 * with no devices), and we refetch whenever the live stream reports a change, debounced so a
 * burst of deltas costs one request.
 */
import { useEffect, useRef, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { useDevices } from '../devices-context';
import type { Overview } from '../types';

const REFETCH_DEBOUNCE_MS = 800;
/** Last counts seen, so coming back to the page shows them at once while they are refreshed. */
let lastOverview: Overview | null = null;

export function OverviewCards() {
  const { version } = useDevices();
  const [overview, setOverview] = useState<Overview | null>(lastOverview);
  // The first fetch of each visit goes at once; later ones (stream changes) are debounced.
  const first = useRef(true);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    const ctrl = new AbortController();
    const load = () =>
      void api.overview(ctrl.signal).then(
        (o) => ((lastOverview = o), setOverview(o), setError(null)),
        (err: unknown) => !ctrl.signal.aborted && setError(describeError(err)),
      );
    const t = setTimeout(load, first.current ? 0 : REFETCH_DEBOUNCE_MS);
    first.current = false;
    return () => (clearTimeout(t), ctrl.abort());
  }, [version]); // refetch only when the live stream reports a change

  if (!overview) {
    return <section className="cards">{error ? <p className="error">Overview unavailable: {error}</p> : <p className="muted">Loading overview…</p>}</section>;
  }
  return (
    <section className="overview" data-testid="overview">
      <div className="cards">
        <Card label="Devices" value={overview.total} testid="count-total" />
        <Card label="Online" value={overview.online} testid="count-online" tone="online" />
        <Card label="Offline" value={overview.offline} testid="count-offline" tone="offline" />
        <Card label="Revoked" value={overview.revoked} testid="count-revoked" tone="revoked" />
      </div>
      {overview.fleets.length > 0 && (
        <div className="fleets">
          {overview.fleets.map((f) => (
            <span key={f.name} className="fleet-pill">
              <strong>{f.name}</strong> {f.online}/{f.total} online
            </span>
          ))}
        </div>
      )}
      {error && <p className="error small">Counts may be stale: {error}</p>}
    </section>
  );
}

function Card({ label, value, testid, tone }: { label: string; value: number; testid: string; tone?: string }) {
  return (
    <div className={`card${tone ? ` card-${tone}` : ''}`}>
      <div className="card-value" data-testid={testid}>
        {value}
      </div>
      <div className="card-label">{label}</div>
    </div>
  );
}
