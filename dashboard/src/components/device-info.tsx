import { dateTime, mib, num } from '../format';
import type { Device } from '../types';

/** Reads a string/number field of the free-form `info` the agent sends with its online status. */
function info(d: Device, key: string): string {
  const v = d.info[key];
  return typeof v === 'string' || typeof v === 'number' ? String(v) : '—';
}

export function DeviceInfo({ device: d }: { device: Device }) {
  const t = d.lastTelemetry;
  const rows: [string, string][] = [
    ['ID', d.id],
    ['Fleet', d.fleet],
    ['Enrolled', dateTime(d.enrolledAt)],
    ['Last seen', dateTime(d.lastSeenAt)],
    ['Hostname', info(d, 'hostname')],
    ['OS', info(d, 'os')],
    ['Kernel', info(d, 'kernel')],
    ['Model', info(d, 'model')],
    ['Architecture', info(d, 'arch')],
    ['Agent version', info(d, 'agentVersion')],
  ];
  const latest: [string, string][] = t
    ? [
        ['CPU', num(t.cpu, 0, ' %')],
        ['Temperature', num(t.temp, 1, ' °C')],
        ['Memory', t.memUsed != null ? `${mib(t.memUsed)} of ${mib(t.memTotal)}` : '—'],
        ['Disk', t.diskUsed != null ? `${mib(t.diskUsed)} of ${mib(t.diskTotal)}` : '—'],
        ['Load', [t.load1, t.load5, t.load15].map((v) => num(v, 2)).join(' ')],
        ['Uptime', t.uptime != null ? `${(t.uptime / 3600).toFixed(1)} h` : '—'],
        ['Throttling', t.throttled == null ? '—' : t.throttled === 0 ? 'none' : `0x${t.throttled.toString(16)}`],
      ]
    : [];
  return (
    <section className="panel" data-testid="device-info">
      <h2>Device</h2>
      <dl className="facts">
        {rows.map(([k, v]) => (
          <div key={k}>
            <dt>{k}</dt>
            <dd className={k === 'ID' ? 'mono' : undefined}>{v}</dd>
          </div>
        ))}
      </dl>
      {latest.length > 0 && (
        <>
          <h3>Latest sample</h3>
          <dl className="facts">
            {latest.map(([k, v]) => (
              <div key={k}>
                <dt>{k}</dt>
                <dd>{v}</dd>
              </div>
            ))}
          </dl>
        </>
      )}
    </section>
  );
}
