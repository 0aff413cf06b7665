/** Fleet overview: counts, then the live device list with client-side search and tag filter. */
import { useMemo, useState } from 'react';
import { hasRole, useUser } from '../auth';
import { useDevices } from '../devices-context';
import { Link } from '../router';
import { OverviewCards } from '../components/overview-cards';
import { DeviceTable } from '../components/device-table';
import { TroublesPanel } from '../components/troubles-panel';
import { useNow } from '../use-now';
import type { Device } from '../types';

function matches(d: Device, q: string): boolean {
  if (!q) return true;
  const needle = q.toLowerCase();
  return d.name.toLowerCase().includes(needle) || d.id.includes(needle) || d.tags.some((t) => t.toLowerCase().includes(needle));
}

export function OverviewPage() {
  const { devices, loaded, phase } = useDevices();
  const [query, setQuery] = useState('');
  const [tag, setTag] = useState('');
  const now = useNow();
  const user = useUser();

  const allTags = useMemo(() => [...new Set(devices.flatMap((d) => d.tags))].sort(), [devices]);
  // Only fleets with devices can have services in trouble.
  const fleets = useMemo(() => [...new Set(devices.map((d) => d.fleet))].sort(), [devices]);
  const shown = devices.filter((d) => matches(d, query.trim()) && (!tag || d.tags.includes(tag)));

  return (
    <>
      <h1>Fleet overview</h1>
      <OverviewCards />
      {loaded && fleets.length > 0 && <TroublesPanel fleets={fleets} />}
      <section>
        <div className="toolbar">
          <h2>Devices</h2>
          <input
            type="search"
            placeholder="Search name, id or tag"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            aria-label="Search devices"
            data-testid="device-search"
          />
          <select value={tag} onChange={(e) => setTag(e.target.value)} aria-label="Filter by tag" data-testid="tag-filter">
            <option value="">All tags</option>
            {allTags.map((t) => (
              <option key={t} value={t}>
                {t}
              </option>
            ))}
          </select>
          {(query || tag) && (
            <button type="button" className="link" onClick={() => (setQuery(''), setTag(''))}>
              Clear filters
            </button>
          )}
          <span className="muted small spacer">
            {loaded ? `${shown.length} of ${devices.length} shown` : ''}
          </span>
        </div>
        {!loaded ? (
          <p className="muted">{phase === 'retrying' ? 'Waiting for the hub…' : 'Loading devices…'}</p>
        ) : devices.length === 0 ? (
          <div className="empty">
            <p>No devices yet.</p>
            <p className="muted">
              {hasRole(user, 'admin') ? (
                <>
                  Create a provisioning token on the <Link href="/tokens">Tokens page</Link> and run the agent command it shows on a Pi.
                </>
              ) : (
                'An admin enrolls Pis with provisioning tokens; they appear here as soon as they connect.'
              )}
            </p>
          </div>
        ) : shown.length === 0 ? (
          <p className="muted">No device matches these filters.</p>
        ) : (
          <DeviceTable devices={shown} now={now} onTag={(t) => setTag(t === tag ? '' : t)} activeTag={tag} />
        )}
      </section>
    </>
  );
}
