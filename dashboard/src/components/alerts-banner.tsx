/**
 * Open alerts on every page: loaded at sign-in (and after each reconnect, since the stream's
 * snapshot does not carry them), then kept current by the stream's `alert` events: a raised
 * alert is added, a resolved one leaves. Operators can acknowledge (it stays until resolved, but
 * says who has seen it).
 */
import { useEffect, useRef, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { hasRole, useUser } from '../auth';
import { useDevices, useLiveEvent } from '../devices-context';
import { ago } from '../format';
import { Link } from '../router';
import { useNow } from '../use-now';
import type { Alert, AlertKind } from '../types';

const KIND: Record<AlertKind, string> = {
  fatal: 'FATAL',
  crash_loop: 'Crash loop',
  engine_down: 'Engine down',
  apply_failed: 'Apply failed',
};
/** Lines shown before "show all"; the banner must not push the page out of sight. */
const COLLAPSED = 3;
/** Kept in memory at most; past this the oldest go (the hub still has them). */
const MAX_KEPT = 500;

function upsert(list: Alert[], a: Alert): Alert[] {
  const rest = list.filter((x) => x.id !== a.id);
  if (a.resolvedAt) return rest;
  return [a, ...rest].sort((x, y) => y.raisedAt.localeCompare(x.raisedAt)).slice(0, MAX_KEPT);
}

export function AlertsBanner() {
  const user = useUser();
  const { session } = useDevices();
  const [alerts, setAlerts] = useState<Alert[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [expanded, setExpanded] = useState(false);
  const now = useNow();
  // Events that arrive while the list is being fetched are applied again on top of the answer,
  // which may have been read before them.
  const inFlight = useRef<Alert[] | null>(null);

  useEffect(() => {
    const ctrl = new AbortController();
    const seen: Alert[] = [];
    inFlight.current = seen;
    void api.openAlerts(ctrl.signal).then(
      (list) => {
        const base = list.filter((a) => !a.resolvedAt).slice(0, MAX_KEPT);
        setAlerts(seen.reduce(upsert, base));
        setError(null);
      },
      (err: unknown) => !ctrl.signal.aborted && setError(describeError(err)),
    ).finally(() => {
      if (inFlight.current === seen) inFlight.current = null;
    });
    return () => ctrl.abort();
  }, [session]);

  useLiveEvent('alert', (a) => {
    if (inFlight.current && inFlight.current.length < MAX_KEPT) inFlight.current.push(a);
    setAlerts((list) => upsert(list, a));
  });

  const ack = async (a: Alert) => {
    try {
      const acked = await api.ackAlert(a.id);
      setAlerts((list) => upsert(list, acked));
      setError(null);
    } catch (err) {
      setError(`Could not acknowledge: ${describeError(err)}`);
    }
  };

  if (alerts.length === 0 && !error) return null;
  const shown = expanded ? alerts : alerts.slice(0, COLLAPSED);
  const canAck = hasRole(user, 'operator');
  return (
    <div className="banner banner-alert" role="region" aria-label="Open alerts" data-testid="alerts-banner">
      {alerts.length > 0 && (
        <strong className="alerts-count">
          {alerts.length} open alert{alerts.length === 1 ? '' : 's'}
        </strong>
      )}
      <ul className="alerts">
        {shown.map((a) => (
          <li key={a.id} data-testid="alert" data-kind={a.kind} className={a.ackedAt ? 'acked' : undefined}>
            <span className={`badge alert-kind alert-${a.kind}`}>{KIND[a.kind] ?? a.kind}</span>{' '}
            <Link href={`/devices/${encodeURIComponent(a.device)}`}>
              <strong>{a.device}</strong>
            </Link>
            {a.app && (
              <span className="mono">
                {' '}
                {a.app}
                {a.service ? `/${a.service}` : ''}
              </span>
            )}
            : {a.message} <span className="muted small">raised {ago(a.raisedAt, now)}</span>
            {a.ackedAt ? (
              <span className="muted small"> · acknowledged by {a.ackedBy ?? 'someone'}</span>
            ) : (
              canAck && (
                <button type="button" className="small" aria-label={`Acknowledge ${KIND[a.kind] ?? a.kind} on ${a.device}`} onClick={() => void ack(a)}>
                  Acknowledge
                </button>
              )
            )}
          </li>
        ))}
      </ul>
      {alerts.length > COLLAPSED && (
        <button type="button" className="link" onClick={() => setExpanded((x) => !x)}>
          {expanded ? 'Show fewer' : `Show all ${alerts.length}`}
        </button>
      )}
      {error && <p className="error small">Alerts may be incomplete: {error}</p>}
    </div>
  );
}
