/**
 * One row per supervised service of a device: state, uptime (ticking), restarts, last exit,
 * health, and what holds it (crash loop, FATAL, paused, operator stop). A click on a row opens
 * its restart history; operators get the per-service actions at the row's end.
 */
import { span, dateTime } from '../format';
import type { ServiceActionRequest, ServiceRecord } from '../types';
import { ServiceActions } from './service-actions';
import { ServiceStateBadge, shownState } from './service-state';

const RUN_STATES = new Set(['RUNNING', 'UNHEALTHY', 'STARTING']);

export function serviceKey(r: { app: string; service: string }): string {
  return `${r.app}/${r.service}`;
}

function uptime(r: ServiceRecord, online: boolean, now: number): string {
  if (!online || !RUN_STATES.has(r.state) || !r.startedAt) return '—';
  return span(now - Date.parse(r.startedAt));
}

function lastExit(r: ServiceRecord) {
  if (r.exitCode === null && !r.oomKilled) return <span className="muted">—</span>;
  return (
    <>
      {r.exitCode !== null && <span className="mono">code {r.exitCode}</span>}
      {r.oomKilled && <span className="badge badge-svc-fatal svc-oom">OOM killed</span>}
    </>
  );
}

/** Why the service is not simply running, in words: the column an operator reads first. */
function Notes({ r, online, now }: { r: ServiceRecord; online: boolean; now: number }) {
  const notes: { text: string; cls: string; testid: string }[] = [];
  if (r.state === 'FATAL' || (r.state === 'UNKNOWN' && r.reportedState === 'FATAL'))
    notes.push({ text: 'FATAL: reset to try again', cls: 'note-fatal', testid: 'note-fatal' });
  if (r.crashLoop) notes.push({ text: 'crash loop', cls: 'note-crash', testid: 'note-crashloop' });
  if (online && r.state === 'BACKOFF' && r.nextStartAt) {
    const left = Date.parse(r.nextStartAt) - now;
    notes.push({ text: left > 0 ? `next start in ${span(left)}` : 'starting again…', cls: 'note-info', testid: 'note-backoff' });
  }
  if (r.pausedUntil && Date.parse(r.pausedUntil) > now)
    notes.push({ text: `restarts paused until ${dateTime(r.pausedUntil)}`, cls: 'note-info', testid: 'note-paused' });
  if (r.stopped) notes.push({ text: 'stopped by operator', cls: 'note-info', testid: 'note-stopped' });
  if (r.pull && r.pull.total > 0) notes.push({ text: `pulling image ${Math.round((100 * r.pull.done) / r.pull.total)} %`, cls: 'note-info', testid: 'note-pull' });
  return (
    <span className="svc-notes">
      {notes.map((n) => (
        <span key={n.testid} className={`note ${n.cls}`} data-testid={n.testid}>
          {n.text}
        </span>
      ))}
      {r.message && (
        <span className="muted small svc-message" title={r.message}>
          {r.message}
        </span>
      )}
    </span>
  );
}

export function ContainersTable({
  services,
  online,
  now,
  selected,
  onSelect,
  canAct,
  busy,
  onRun,
}: {
  services: ServiceRecord[];
  online: boolean;
  now: number;
  selected: string | null;
  onSelect: (key: string | null) => void;
  canAct: boolean;
  busy: boolean;
  onRun: (req: ServiceActionRequest, label: string) => void;
}) {
  return (
    <table className="containers" data-testid="containers-table">
      <thead>
        <tr>
          <th>App</th>
          <th>Service</th>
          <th>State</th>
          <th className="num">Uptime</th>
          <th className="num">Restarts</th>
          <th>Last exit</th>
          <th>Health</th>
          <th>Notes</th>
          {canAct && <th>Actions</th>}
        </tr>
      </thead>
      <tbody>
        {services.map((r) => {
          const key = serviceKey(r);
          const state = shownState(r, online);
          const fatal = r.state === 'FATAL' || (state === 'UNKNOWN' && r.reportedState === 'FATAL');
          const cls = ['clickable', fatal ? 'svc-row-fatal' : r.crashLoop ? 'svc-row-crash' : '', state === 'UNKNOWN' ? 'svc-row-unknown' : '', selected === key ? 'selected' : '']
            .filter(Boolean)
            .join(' ');
          return (
            <tr
              key={key}
              className={cls}
              data-testid={`service-row-${r.app}-${r.service}`}
              aria-selected={selected === key}
              onClick={() => onSelect(selected === key ? null : key)}
            >
              <td>{r.app}</td>
              <td>
                <button type="button" className="link" aria-label={`History of ${key}`} aria-expanded={selected === key}>
                  <strong>{r.service}</strong>
                </button>
                {r.image && (
                  <div className="muted small mono svc-image" title={r.image}>
                    {r.image}
                    {r.release !== null && ` · r${r.release}`}
                  </div>
                )}
              </td>
              <td>
                <ServiceStateBadge record={r} online={online} />
              </td>
              <td className="num" data-testid="service-uptime">
                {uptime(r, online, now)}
              </td>
              <td className="num" data-testid="service-restarts">
                {r.restarts}
              </td>
              <td className="svc-exit">{lastExit(r)}</td>
              <td>{r.health ? <span className={`health health-${r.health}`}>{r.health}</span> : <span className="muted">—</span>}</td>
              <td>
                <Notes r={r} online={online} now={now} />
              </td>
              {canAct && (
                <td>
                  <ServiceActions records={[r]} target={{ app: r.app, service: r.service }} now={now} busy={busy} onRun={onRun} />
                </td>
              )}
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
