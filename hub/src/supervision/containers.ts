import type { ServiceStatus, StateReportedMessage } from '@pifleet/protocol';
import type { Device, DeviceContainers, ServiceRecord } from '../contract.js';
import type { ControlsView, DesiredView } from './desired-side.js';

export interface ContainersInput {
  device: Pick<Device, 'id' | 'name' | 'online'>;
  desired: DesiredView | null;
  controls: ControlsView;
  reported: { state: StateReportedMessage; receivedAt: Date } | undefined;
}

const isoMs = (ms: number | undefined | null): string | null => (ms === undefined || ms === null ? null : new Date(ms).toISOString());

/**
 * A device's containers as the hub shows them: every service the desired state names (PENDING
 * until the agent reports it) plus any the agent still reports (one being removed), with the
 * agent's supervision state, or UNKNOWN while the device is offline (the last reported state is
 * kept in `reportedState`). `stopped` and `pausedUntil` are the operator's controls in force.
 */
export function deviceContainers(i: ContainersInput): DeviceContainers {
  const rep = i.reported?.state;
  const keys = new Map<string, [string, string]>();
  for (const [app, a] of Object.entries(i.desired?.apps ?? {})) for (const svc of Object.keys(a.services)) keys.set(`${app}/${svc}`, [app, svc]);
  for (const [app, svcs] of Object.entries(rep?.apps ?? {})) for (const svc of Object.keys(svcs)) keys.set(`${app}/${svc}`, [app, svc]);
  const services = [...keys.values()]
    .sort(([a1, s1], [a2, s2]) => a1.localeCompare(a2) || s1.localeCompare(s2))
    .map(([app, svc]) => serviceRecord(i, app, svc, rep?.apps[app]?.[svc]));
  const err = rep?.error;
  return {
    deviceId: i.device.id,
    device: i.device.name,
    online: i.device.online,
    desiredVersion: i.desired?.version ?? 0,
    reportedVersion: rep?.desiredVersion ?? null,
    appliedVersion: rep?.appliedVersion ?? null,
    engine: rep?.engine ?? null,
    error: err
      ? { code: err.code, message: err.message, ...(err.app ? { app: err.app } : {}), ...(err.service ? { service: err.service } : {}), at: isoMs(err.at)! }
      : null,
    reportedAt: i.reported ? i.reported.receivedAt.toISOString() : null,
    services,
  };
}

function serviceRecord(i: ContainersInput, app: string, service: string, s: ServiceStatus | undefined): ServiceRecord {
  const desired = i.desired?.apps[app];
  const control = i.controls[app]?.[service];
  return {
    deviceId: i.device.id,
    device: i.device.name,
    app,
    service,
    state: !i.device.online ? 'UNKNOWN' : (s?.state ?? 'PENDING'),
    reportedState: s?.state ?? null,
    release: s?.release ?? desired?.release ?? null,
    image: s?.image ?? desired?.services[service]?.image ?? null,
    since: isoMs(s?.since),
    startedAt: isoMs(s?.startedAt),
    restarts: s?.restarts ?? 0,
    exitCode: s?.exitCode ?? null,
    oomKilled: s?.oomKilled ?? false,
    health: s?.health ?? null,
    crashLoop: s?.crashLoop ?? false,
    nextStartAt: isoMs(s?.nextStartAt),
    // A pause recorded by an operator is shown while it is in force; the agent's own report otherwise.
    pausedUntil: isoMs(control?.pausedUntil && control.pausedUntil > Date.now() ? control.pausedUntil : s?.pausedUntil),
    stopped: control?.stopped ?? false,
    pull: s?.pull ?? null,
    message: s?.message ?? null,
  };
}

/** Whether a service needs an operator: crash-looping or FATAL by its last report. */
export function isTroubled(r: ServiceRecord): boolean {
  return r.crashLoop || r.reportedState === 'FATAL';
}
