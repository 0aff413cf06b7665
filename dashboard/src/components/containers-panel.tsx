/**
 * What runs on one device: the convergence line (desired and applied version, engine, apply
 * error as the hub sent it), device-wide actions, the live containers table and, for the row
 * picked, its restart history. Actions are shown to operators and admins only; the hub checks
 * the role again and its refusal is shown in its own words.
 */
import { useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { hasRole, useUser } from '../auth';
import { ago, dateTime } from '../format';
import { Link } from '../router';
import { useNow } from '../use-now';
import { useDeviceContainers } from '../use-containers';
import type { Device, DeviceContainers, ServiceActionRequest } from '../types';
import { ContainersTable, serviceKey } from './containers-table';
import { ServiceActions } from './service-actions';
import { ServiceHistory } from './service-history';

export function ContainersPanel({ device }: { device: Device }) {
  const user = useUser();
  const { data, error, replace } = useDeviceContainers(device.id);
  const now = useNow(1000);
  const [selected, setSelected] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [actionError, setActionError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const canAct = hasRole(user, 'operator') && device.status !== 'revoked';
  // The live device row flips to offline first; trust either source saying offline.
  const online = device.online && (data?.online ?? true);

  const run = async (req: ServiceActionRequest, label: string) => {
    setBusy(true);
    setActionError(null);
    setDone(null);
    try {
      replace(await api.serviceAction(device.id, req));
      setDone(`${label}: sent${online ? '' : ' (the device gets it when it is back online)'}.`);
    } catch (err) {
      setActionError(`${label} failed: ${describeError(err)}`);
    } finally {
      setBusy(false);
    }
  };

  const picked = data?.services.find((s) => serviceKey(s) === selected);
  return (
    <section className="panel containers-panel" data-testid="containers-panel">
      <div className="toolbar">
        <h2>Containers</h2>
        {canAct && data && data.services.length > 0 && (
          <span className="device-actions" data-testid="device-service-actions">
            <ServiceActions records={data.services} target={{}} now={now} busy={busy} onRun={(r, l) => void run(r, l)} />
          </span>
        )}
      </div>
      {error && !data && <p className="error">Containers unavailable: {error}</p>}
      {!data ? (
        !error && <p className="muted">Loading containers…</p>
      ) : (
        <>
          <Convergence c={data} online={online} now={now} />
          {!online && (
            <p className="banner-inline" data-testid="offline-note">
              The device is offline: what it runs now is unknown. The last reported state is shown in grey; actions are kept for
              when it is back.
            </p>
          )}
          {actionError && (
            <p className="error" role="alert" data-testid="action-error">
              {actionError}
            </p>
          )}
          {done && (
            <p className="muted small" role="status" data-testid="action-done">
              {done}
            </p>
          )}
          {data.services.length === 0 ? (
            <div className="empty">
              <p>No apps on this device.</p>
              <p className="muted">
                Apply a compose file to its fleet or to this device on the <Link href="/apps">Apps page</Link>.
              </p>
            </div>
          ) : (
            <ContainersTable
              services={data.services}
              online={online}
              now={now}
              selected={selected}
              onSelect={setSelected}
              canAct={canAct}
              busy={busy}
              onRun={(r, l) => void run(r, l)}
            />
          )}
          {!hasRole(user, 'operator') && data.services.length > 0 && (
            <p className="muted small">Your role ({user.role}) can see services but not start, stop or restart them.</p>
          )}
        </>
      )}
      {picked && (
        <ServiceHistory
          key={selected}
          deviceId={device.id}
          app={picked.app}
          service={picked.service}
          changeKey={`${picked.state}|${picked.since ?? ''}|${picked.restarts}`}
          onClose={() => setSelected(null)}
        />
      )}
    </section>
  );
}

/** "desired v7 · applied v6 · engine up · reported 4 s ago", then the apply error if any. */
function Convergence({ c, online, now }: { c: DeviceContainers; online: boolean; now: number }) {
  const converged = c.appliedVersion !== null && c.appliedVersion >= c.desiredVersion;
  return (
    <div className="convergence" data-testid="convergence">
      <span data-testid="desired-version">
        desired <strong>{c.desiredVersion === 0 ? 'nothing yet' : `v${c.desiredVersion}`}</strong>
      </span>
      <span data-testid="applied-version">
        applied <strong>{c.appliedVersion === null ? 'none yet' : `v${c.appliedVersion}`}</strong>
        {!converged && online && c.reportedVersion !== null && <span className="muted"> (applying v{c.reportedVersion}…)</span>}
        {!converged && c.reportedVersion === null && <span className="muted"> (not accepted yet)</span>}
      </span>
      <span data-testid="engine-state">
        engine{' '}
        {c.engine === null ? (
          <span className="muted">not reported</span>
        ) : (
          <span className={`badge ${c.engine === 'up' && online ? 'badge-online' : c.engine === 'down' ? 'badge-revoked' : ''}`}>
            {online ? c.engine : `${c.engine} (last known)`}
          </span>
        )}
      </span>
      <span className="muted">reported {c.reportedAt ? ago(c.reportedAt, now) : 'never'}</span>
      {c.error && (
        <p className="error apply-error" role="alert" data-testid="apply-error">
          <strong>Apply failed</strong> ({c.error.code}
          {c.error.app ? `, ${c.error.app}${c.error.service ? `/${c.error.service}` : ''}` : ''}, {dateTime(c.error.at)}): {c.error.message}
        </p>
      )}
    </div>
  );
}
