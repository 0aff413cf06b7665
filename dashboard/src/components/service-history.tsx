/**
 * The restart history of one service: every supervision transition the agent reported, newest
 * first, with why it happened, how the run ended and how long the supervisor waited, and the
 * container's last log lines for the runs that died. Fetched again whenever the service's live
 * record moves (`changeKey`), so new transitions appear without polling.
 */
import { Fragment, useEffect, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { span, timeSec } from '../format';
import type { ServiceEvent } from '../types';
import { StateWord } from './service-state';

const FIRST_PAGE = 50;
const MORE_PAGE = 500;
/** An event that reached the hub this much after it happened came in after an outage. */
const LATE_MS = 60_000;

export function ServiceHistory({
  deviceId,
  app,
  service,
  changeKey,
  onClose,
}: {
  deviceId: string;
  app: string;
  service: string;
  changeKey: string;
  onClose: () => void;
}) {
  const [limit, setLimit] = useState(FIRST_PAGE);
  const [events, setEvents] = useState<ServiceEvent[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [open, setOpen] = useState<Set<string>>(new Set());

  useEffect(() => {
    const ctrl = new AbortController();
    api.serviceHistory(deviceId, app, service, limit, ctrl.signal).then(
      (e) => (setEvents(e), setError(null)),
      (err: unknown) => !ctrl.signal.aborted && setError(describeError(err)),
    );
    return () => ctrl.abort();
  }, [deviceId, app, service, limit, changeKey]);

  const toggle = (id: string) =>
    setOpen((s) => {
      const n = new Set(s);
      if (n.has(id)) n.delete(id);
      else n.add(id);
      return n;
    });

  return (
    <section className="panel history" data-testid="service-history">
      <div className="toolbar">
        <h2>
          History of {app}/{service}
        </h2>
        <span className="spacer" />
        <button type="button" onClick={onClose}>
          Close
        </button>
      </div>
      {error && <p className="error">History unavailable: {error}</p>}
      {!events ? (
        !error && <p className="muted">Loading history…</p>
      ) : events.length === 0 ? (
        <p className="muted">No transitions recorded yet.</p>
      ) : (
        <table>
          <thead>
            <tr>
              <th>Time</th>
              <th>Transition</th>
              <th>Reason</th>
              <th>Exit</th>
              <th className="num">Run</th>
              <th className="num">Delay</th>
              <th className="num">Restarts</th>
              <th>Log</th>
            </tr>
          </thead>
          <tbody>
            {events.map((e) => (
              <Fragment key={e.eventId}>
                <tr data-testid="history-row" className={e.to === 'FATAL' ? 'svc-row-fatal' : e.crashLoop ? 'svc-row-crash' : undefined}>
                  <td className="nowrap" title={e.receivedAt ? `received by the hub ${timeSec(e.receivedAt)}` : undefined}>
                    {timeSec(e.at)}
                    {e.receivedAt && Date.parse(e.receivedAt) - Date.parse(e.at) > LATE_MS && (
                      // Kept by the agent while it was offline: the order is still by `at`.
                      <div className="muted small">reported {span(Date.parse(e.receivedAt) - Date.parse(e.at))} later</div>
                    )}
                  </td>
                  <td className="nowrap">
                    <StateWord state={e.from} /> → <StateWord state={e.to} />
                  </td>
                  <td>
                    <span className="mono">{e.reason}</span>
                    {e.crashLoop && <span className="note note-crash">crash loop</span>}
                    {e.message && <div className="muted small">{e.message}</div>}
                  </td>
                  <td>
                    {e.exitCode !== null ? <span className="mono">code {e.exitCode}</span> : <span className="muted">—</span>}
                    {e.oomKilled && <span className="badge badge-svc-fatal svc-oom">OOM killed</span>}
                  </td>
                  <td className="num">{span(e.runMs)}</td>
                  <td className="num">{span(e.delayMs)}</td>
                  <td className="num">{e.restarts ?? '—'}</td>
                  <td>
                    {e.logTail.length > 0 ? (
                      <button type="button" className="link" aria-expanded={open.has(e.eventId)} onClick={() => toggle(e.eventId)}>
                        {open.has(e.eventId) ? 'Hide' : 'Show'} {e.logTail.length} line{e.logTail.length === 1 ? '' : 's'}
                      </button>
                    ) : (
                      <span className="muted">—</span>
                    )}
                  </td>
                </tr>
                {open.has(e.eventId) && (
                  <tr className="log-row">
                    <td colSpan={8}>
                      <pre className="log-tail" data-testid="log-tail">
                        {e.logTail.join('\n')}
                      </pre>
                    </td>
                  </tr>
                )}
              </Fragment>
            ))}
          </tbody>
        </table>
      )}
      {events && events.length >= limit && limit < MORE_PAGE && (
        <p>
          <button type="button" className="link" onClick={() => setLimit(MORE_PAGE)}>
            Show older transitions
          </button>
        </p>
      )}
    </section>
  );
}
