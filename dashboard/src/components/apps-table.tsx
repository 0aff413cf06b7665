/** Apps with their current fleet-wide release, services and per-device overrides. */
import { dateTime } from '../format';
import { Link, navigate } from '../router';
import type { AppSummary } from '../types';

export function appHref(a: { fleet: string; name: string }): string {
  return `/apps/${encodeURIComponent(a.fleet)}/${encodeURIComponent(a.name)}`;
}

export function AppsTable({ apps, selected }: { apps: AppSummary[]; selected?: string }) {
  return (
    <table data-testid="apps-table">
      <thead>
        <tr>
          <th>App</th>
          <th>Fleet</th>
          <th className="num">Release</th>
          <th>Services</th>
          <th>Device overrides</th>
          <th>Updated</th>
        </tr>
      </thead>
      <tbody>
        {apps.map((a) => {
          const href = appHref(a);
          return (
            <tr key={`${a.fleet}/${a.name}`} className={`clickable${selected === href ? ' selected' : ''}`} data-testid={`app-row-${a.fleet}-${a.name}`} onClick={() => navigate(href)}>
              <td>
                <Link href={href} onClick={(e) => e.stopPropagation()}>
                  <strong>{a.name}</strong>
                </Link>
              </td>
              <td>
                <Link href={`/fleets/${encodeURIComponent(a.fleet)}`} onClick={(e) => e.stopPropagation()}>
                  {a.fleet}
                </Link>
              </td>
              <td className="num">{a.release === null ? <span className="muted">removed</span> : `#${a.release}`}</td>
              <td className="mono small">{a.services.join(', ') || '—'}</td>
              <td>{a.overrides.length ? a.overrides.join(', ') : <span className="muted">none</span>}</td>
              <td>{dateTime(a.updatedAt)}</td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
