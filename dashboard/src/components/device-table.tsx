import { navigate } from '../router';
import { mib, num } from '../format';
import type { Device } from '../types';
import { StatusBadge } from './status-badge';
import { TagChips } from './tag-chips';

/** One row per device; the whole row opens the device page (keyboard: Enter on the name link). */
export function DeviceTable({ devices, now, onTag, activeTag }: { devices: Device[]; now: number; onTag: (t: string) => void; activeTag: string }) {
  return (
    <table className="devices" data-testid="device-table">
      <thead>
        <tr>
          <th>Name</th>
          <th>ID</th>
          <th>Fleet</th>
          <th>Status</th>
          <th>Tags</th>
          <th className="num">CPU</th>
          <th className="num">Temp</th>
          <th className="num">Memory</th>
        </tr>
      </thead>
      <tbody>
        {devices.map((d) => {
          const t = d.lastTelemetry;
          const href = `/devices/${encodeURIComponent(d.name)}`;
          return (
            <tr key={d.id} data-testid={`device-row-${d.name}`} className="clickable" onClick={() => navigate(href)}>
              <td>
                <a href={href} onClick={(e) => (e.preventDefault(), e.stopPropagation(), navigate(href))}>
                  <strong>{d.name}</strong>
                </a>
              </td>
              <td className="mono small">{d.id}</td>
              <td>{d.fleet}</td>
              <td>
                <StatusBadge device={d} now={now} />
              </td>
              <td>
                <TagChips tags={d.tags} onPick={onTag} active={activeTag} />
              </td>
              <td className="num">{num(t?.cpu, 0, ' %')}</td>
              <td className="num">{num(t?.temp, 1, ' °C')}</td>
              <td className="num">
                {t?.memUsed != null ? `${mib(t.memUsed)}${t.memTotal ? ` / ${mib(t.memTotal)}` : ''}` : '—'}
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
