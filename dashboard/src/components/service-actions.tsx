/**
 * The operator's levers for supervised services: one service (a row) or every service of the
 * device. Only the actions that make sense for the current state are offered; the hub records
 * each as a standing instruction in the device's desired state, so it also reaches an offline Pi
 * when it comes back.
 */
import type { ServiceAction, ServiceActionRequest, ServiceRecord } from '../types';

interface Offer {
  action: ServiceAction;
  minutes?: number;
  /** Button text; `name` (with the target appended) is its accessible name. */
  label: string;
  name: string;
  className?: string;
}

function lastKnown(r: ServiceRecord): string {
  return r.state === 'UNKNOWN' ? (r.reportedState ?? 'UNKNOWN') : r.state;
}

function paused(r: ServiceRecord, now: number): boolean {
  return r.pausedUntil !== null && Date.parse(r.pausedUntil) > now;
}

/** What can be done to all of `records` at once, in a stable order. */
export function offers(records: ServiceRecord[], now: number): Offer[] {
  const any = (p: (r: ServiceRecord) => boolean) => records.some(p);
  const out: Offer[] = [];
  if (any((r) => r.stopped || ['STOPPED', 'EXITED'].includes(lastKnown(r)))) out.push({ action: 'start', label: 'Start', name: 'Start' });
  if (any((r) => !r.stopped)) {
    out.push({ action: 'stop', label: 'Stop', name: 'Stop', className: 'danger' });
    out.push({ action: 'restart', label: 'Restart', name: 'Restart' });
  }
  if (any((r) => lastKnown(r) === 'FATAL')) out.push({ action: 'reset', label: 'Reset', name: 'Reset', className: 'primary' });
  if (any((r) => !paused(r, now))) {
    out.push({ action: 'pause', minutes: 15, label: 'Pause 15m', name: 'Pause 15 min' });
    out.push({ action: 'pause', minutes: 60, label: '60m', name: 'Pause 60 min' });
  }
  if (any((r) => paused(r, now))) out.push({ action: 'resume', label: 'Resume', name: 'Resume' });
  return out;
}

/**
 * Buttons for `records`; `target` names them in requests (both absent: the whole device) and in
 * accessible names ("Stop web/api", "Stop all services").
 */
export function ServiceActions({
  records,
  target,
  now,
  busy,
  onRun,
}: {
  records: ServiceRecord[];
  target: { app?: string; service?: string };
  now: number;
  busy: boolean;
  onRun: (req: ServiceActionRequest, label: string) => void;
}) {
  const what = target.app && target.service ? `${target.app}/${target.service}` : target.app ? `all of ${target.app}` : 'all services';
  return (
    <span className="svc-actions" onClick={(e) => e.stopPropagation()}>
      {offers(records, now).map((o) => {
        const name = `${o.name} ${what}`;
        const req: ServiceActionRequest = { action: o.action, ...target, ...(o.minutes ? { minutes: o.minutes } : {}) };
        return (
          <button
            key={o.name}
            type="button"
            className={`small ${o.className ?? ''}${o.minutes === 60 ? ' joined' : ''}`}
            aria-label={name}
            title={o.action === 'pause' ? `${name}: no automatic restarts meanwhile` : name}
            disabled={busy}
            onClick={() => onRun(req, name)}
          >
            {o.label}
          </button>
        );
      })}
    </span>
  );
}
