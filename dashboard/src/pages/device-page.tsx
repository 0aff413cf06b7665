/**
 * One device: facts, operator actions, its containers (live, with restart history) and telemetry
 * history. The device itself comes from the
 * shared live store (so status flips without reloading); a direct fetch covers deep links opened
 * before the first snapshot arrives and devices the stream has not sent.
 */
import { useEffect, useState } from 'react';
import { ApiError, describeError } from '../api/client';
import { api } from '../api/endpoints';
import { useDevices } from '../devices-context';
import { Link } from '../router';
import { StatusBadge } from '../components/status-badge';
import { DeviceInfo } from '../components/device-info';
import { DeviceActions } from '../components/device-actions';
import { TelemetryCharts } from '../components/telemetry-charts';
import { IngestDrops } from '../components/ingest-drops';
import { ContainersPanel } from '../components/containers-panel';
import { useNow } from '../use-now';
import type { Device } from '../types';

export function DevicePage({ idOrName }: { idOrName: string }) {
  const { devices } = useDevices();
  const [fetched, setFetched] = useState<Device | null>(null);
  const [error, setError] = useState<ApiError | Error | null>(null);
  const now = useNow();

  useEffect(() => {
    const ctrl = new AbortController();
    setError(null);
    api.device(idOrName, ctrl.signal).then(setFetched, (err: unknown) => {
      if (!ctrl.signal.aborted) setError(err instanceof Error ? err : new Error(String(err)));
    });
    return () => ctrl.abort();
  }, [idOrName]);

  const live = devices.find((d) => d.id === fetched?.id || d.id === idOrName || d.name === idOrName);
  const device = live ?? fetched;

  if (!device) {
    if (error instanceof ApiError && error.status === 404) {
      return (
        <div className="empty">
          <h1>Device not found</h1>
          <p>
            No device is called or has the id <span className="mono">{idOrName}</span>. <Link href="/">Back to the fleet</Link>
          </p>
        </div>
      );
    }
    return error ? <p className="error">Could not load the device: {describeError(error)}</p> : <p className="muted">Loading device…</p>;
  }

  return (
    <>
      <p className="crumbs">
        <Link href="/">Fleet</Link> / <Link href={`/fleets/${encodeURIComponent(device.fleet)}`}>{device.fleet}</Link> / {device.name}
      </p>
      <div className="title-row">
        <h1 data-testid="device-title">{device.name}</h1>
        <StatusBadge device={device} now={now} />
      </div>
      <div className="device-grid">
        <DeviceInfo device={device} />
        <DeviceActions device={device} onChanged={setFetched} />
      </div>
      <ContainersPanel device={device} />
      <TelemetryCharts deviceId={device.id} />
      <IngestDrops deviceId={device.id} />
    </>
  );
}
