/**
 * One fleet: what is in trouble there (crash-looping or FATAL services, live), its apps and its
 * devices.
 */
import { useEffect, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { useDevices } from '../devices-context';
import { Link } from '../router';
import { AppsTable } from '../components/apps-table';
import { DeviceTable } from '../components/device-table';
import { TroublesPanel } from '../components/troubles-panel';
import { useNow } from '../use-now';
import type { AppSummary } from '../types';

export function FleetPage({ name }: { name: string }) {
  const { devices, loaded } = useDevices();
  const [apps, setApps] = useState<AppSummary[] | null>(null);
  const [error, setError] = useState<string | null>(null);
  const now = useNow();
  const members = devices.filter((d) => d.fleet === name);

  useEffect(() => {
    const ctrl = new AbortController();
    api.apps(name, ctrl.signal).then(
      (a) => (setApps(a), setError(null)),
      (err: unknown) => !ctrl.signal.aborted && setError(describeError(err)),
    );
    return () => ctrl.abort();
  }, [name]);

  return (
    <>
      <p className="crumbs">
        <Link href="/">Fleet</Link> / {name}
      </p>
      <div className="title-row">
        <h1 data-testid="fleet-title">Fleet {name}</h1>
        {loaded && (
          <span className="muted">
            {members.filter((d) => d.online).length} of {members.length} devices online
          </span>
        )}
      </div>
      <TroublesPanel fleets={[name]} />
      <section>
        <h2>Apps</h2>
        {error && <p className="error">Could not load apps: {error}</p>}
        {apps && apps.length === 0 && (
          <p className="muted">
            No apps in this fleet yet. <Link href="/apps">Apply a compose file</Link>.
          </p>
        )}
        {apps && apps.length > 0 && <AppsTable apps={apps} />}
      </section>
      <section>
        <h2>Devices</h2>
        {members.length === 0 ? <p className="muted">{loaded ? 'No devices in this fleet.' : 'Loading devices…'}</p> : <DeviceTable devices={members} now={now} onTag={() => undefined} activeTag="" />}
      </section>
    </>
  );
}
