/**
 * A service's supervision state as a word plus colour. While its device is offline the hub cannot
 * know what runs, so the state is UNKNOWN (drawn hollow) with the last reported state beside it,
 * rather than a stale RUNNING that looks current.
 */
import type { HubServiceState, ServiceRecord } from '../types';

/** The state to show: UNKNOWN whenever the device is not online, whatever was last reported. */
export function shownState(r: ServiceRecord, online: boolean): HubServiceState {
  return online ? r.state : 'UNKNOWN';
}

export function ServiceStateBadge({ record, online }: { record: ServiceRecord; online: boolean }) {
  const state = shownState(record, online);
  const last = record.state !== 'UNKNOWN' ? record.state : record.reportedState;
  return (
    <span className="status" data-testid="service-state" data-state={state}>
      <span className={`badge badge-svc-${state.toLowerCase()}`}>
        <span className="dot" aria-hidden="true" />
        {state}
      </span>
      {state === 'UNKNOWN' && last && <span className="muted small">last reported {last}</span>}
    </span>
  );
}

/** A bare state word in the same colours, for transitions in the history (`BACKOFF → FATAL`). */
export function StateWord({ state }: { state: string }) {
  return <span className={`badge badge-svc-${state.toLowerCase()}`}>{state}</span>;
}
