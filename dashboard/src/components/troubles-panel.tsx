/**
 * Services that are crash-looping or FATAL, across the given fleets, each linking to its device.
 * Fetched at mount and after each reconnect, then again (throttled) when the live stream shows a
 * change that can alter the list: a device already listed, a service newly in trouble, an alert.
 */
import { useEffect, useRef, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { useDevices, useLiveEvent } from '../devices-context';
import { ago } from '../format';
import { Link } from '../router';
import { useNow } from '../use-now';
import type { ServiceRecord } from '../types';
import { ServiceStateBadge } from './service-state';

const REFETCH_THROTTLE_MS = 2000;

export function TroublesPanel({ fleets, title = 'Services in trouble' }: { fleets: string[]; title?: string }) {
  const { session, devices } = useDevices();
  const [troubles, setTroubles] = useState<ServiceRecord[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [tick, setTick] = useState(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const now = useNow();
  const key = fleets.join('\n');

  useEffect(() => () => clearTimeout(timer.current), []);

  useEffect(() => {
    const ctrl = new AbortController();
    const names = key ? key.split('\n') : [];
    Promise.all(names.map((f) => api.troubles(f, ctrl.signal))).then(
      (lists) => {
        const all = lists.flat().sort((a, b) => a.device.localeCompare(b.device) || a.app.localeCompare(b.app) || a.service.localeCompare(b.service));
        setTroubles(all);
        setError(null);
      },
      (err: unknown) => !ctrl.signal.aborted && setError(describeError(err)),
    );
    return () => ctrl.abort();
  }, [key, session, tick]);

  const refetchSoon = () => {
    if (timer.current !== undefined) return;
    timer.current = setTimeout(() => {
      timer.current = undefined;
      setTick((t) => t + 1);
    }, REFETCH_THROTTLE_MS);
  };
  useLiveEvent('containers', (c) => {
    const listed = troubles?.some((t) => t.deviceId === c.deviceId);
    if (listed || c.services.some((s) => s.crashLoop || s.state === 'FATAL')) refetchSoon();
  });
  useLiveEvent('alert', refetchSoon);

  const online = (deviceId: string) => devices.find((d) => d.id === deviceId)?.online ?? true;
  return (
    <section className="troubles" data-testid="troubles">
      <h2>{title}</h2>
      {error && <p className="error">Could not load troubles: {error}</p>}
      {!troubles ? (
        !error && <p className="muted">Loading…</p>
      ) : troubles.length === 0 ? (
        <p className="muted" data-testid="no-troubles">
          No service is crash-looping or FATAL.
        </p>
      ) : (
        <table data-testid="troubles-table">
          <thead>
            <tr>
              <th>Device</th>
              <th>App / service</th>
              <th>State</th>
              <th className="num">Restarts</th>
              <th>Last exit</th>
              <th>Since</th>
              <th>Detail</th>
            </tr>
          </thead>
          <tbody>
            {troubles.map((t) => (
              <tr key={`${t.deviceId}/${t.app}/${t.service}`} className={t.state === 'FATAL' ? 'svc-row-fatal' : 'svc-row-crash'} data-testid={`trouble-${t.device}-${t.app}-${t.service}`}>
                <td>
                  <Link href={`/devices/${encodeURIComponent(t.device)}`}>
                    <strong>{t.device}</strong>
                  </Link>
                </td>
                <td className="mono">
                  {t.app}/{t.service}
                </td>
                <td>
                  <ServiceStateBadge record={t} online={online(t.deviceId)} />
                  {t.crashLoop && <span className="note note-crash">crash loop</span>}
                </td>
                <td className="num">{t.restarts}</td>
                <td>
                  {t.exitCode !== null ? <span className="mono">code {t.exitCode}</span> : '—'}
                  {t.oomKilled && <span className="badge badge-svc-fatal svc-oom">OOM killed</span>}
                </td>
                <td className="nowrap">{t.since ? ago(t.since, now) : '—'}</td>
                <td>
                  <span className="muted small svc-message" title={t.message ?? undefined}>
                    {t.message ?? ''}
                  </span>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </section>
  );
}
