/**
 * Fleet counts from /api/overview. The hub computes them (it knows revoked devices and fleets
 * with no devices), and we refetch when the live stream reports a change, throttled so a
 * burst of deltas costs one request per second at most.
 */
import { useEffect, useRef, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { useDevices } from '../devices-context';
import { Link } from '../router';
import type { Overview } from '../types';

const REFETCH_THROTTLE_MS = 1000;
/** Last counts seen, so coming back to the page shows them at once while they are refreshed. */
let lastOverview: Overview | null = null;

export function OverviewCards() {
  const { version } = useDevices();
  const [overview, setOverview] = useState<Overview | null>(lastOverview);
  // The first fetch of each visit goes at once; later ones (stream changes) are throttled.
  const first = useRef(true);
  const [error, setError] = useState<string | null>(null);
  const ctrl = useRef<AbortController | null>(null);
  const scheduled = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);

  // Unmount: stop the timer and any request in flight.
  useEffect(
    () => () => {
      clearTimeout(scheduled.current);
      scheduled.current = undefined;
      ctrl.current?.abort();
      ctrl.current = null;
    },
    [],
  );

  useEffect(() => {
    const load = () => {
      ctrl.current ??= new AbortController();
      const signal = ctrl.current.signal;
      void api.overview(signal).then(
        (o) => ((lastOverview = o), setOverview(o), setError(null)),
        (err: unknown) => !signal.aborted && setError(describeError(err)),
      );
    };
    if (first.current) {
      first.current = false;
      load();
      return;
    }
    // Throttle, not debounce: with telemetry flowing the stream changes every second, and a
    // debounce that restarts on each change (or aborts the request in flight) would never let
    // the counts load. At most one refetch per window, trailing.
    if (scheduled.current !== undefined) return;
    scheduled.current = setTimeout(() => {
      scheduled.current = undefined;
      load();
    }, REFETCH_THROTTLE_MS);
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
            <Link key={f.name} href={`/fleets/${encodeURIComponent(f.name)}`} className="fleet-pill">
              <strong>{f.name}</strong> {f.online}/{f.total} online
            </Link>
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
