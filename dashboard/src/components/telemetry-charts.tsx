/**
 * Telemetry history for one device, over a chosen range, refreshed every 30 s (the agent's
 * default publish interval, so refreshing faster would mostly fetch nothing new).
 * resolution=auto lets the hub pick raw samples or 1-minute rollups for the range.
 */
import { useEffect, useState } from 'react';
import { describeError } from '../api/client';
import { api } from '../api/endpoints';
import { bytes, mib } from '../format';
import type { TelemetryPoint, TelemetrySeries } from '../types';
import { LineChart, type Series } from './line-chart';

const RANGES = [
  { label: '1 h', ms: 3600e3 },
  { label: '6 h', ms: 6 * 3600e3 },
  { label: '24 h', ms: 24 * 3600e3 },
  { label: '7 d', ms: 7 * 86400e3 },
] as const;
const REFRESH_MS = 30_000;

const pick = (pts: TelemetryPoint[], f: (p: TelemetryPoint) => number | null | undefined) => pts.map((p) => f(p) ?? null);

export function TelemetryCharts({ deviceId }: { deviceId: string }) {
  const [range, setRange] = useState<number>(RANGES[0].ms);
  const [data, setData] = useState<{ series: TelemetrySeries; from: number; to: number } | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(true);

  useEffect(() => {
    const ctrl = new AbortController();
    const load = () => {
      const to = Date.now();
      const from = to - range;
      api.telemetry(deviceId, new Date(from), ctrl.signal).then(
        (series) => (setData({ series, from, to }), setError(null), setLoading(false)),
        (err: unknown) => {
          if (ctrl.signal.aborted) return;
          setError(describeError(err));
          setLoading(false);
        },
      );
    };
    setLoading(true);
    load();
    const t = setInterval(load, REFRESH_MS);
    return () => (clearInterval(t), ctrl.abort());
  }, [deviceId, range]);

  const pts = data?.series.points ?? [];
  const times = pts.map((p) => Date.parse(p.ts));
  const charts: { title: string; series: Series[]; format: (v: number) => string; binary?: boolean }[] = [
    { title: 'CPU %', series: [{ label: 'CPU', color: '#2563eb', values: pick(pts, (p) => p.cpu) }], format: (v) => `${+v.toFixed(1)} %` },
    { title: 'Temperature °C', series: [{ label: 'SoC', color: '#dc2626', values: pick(pts, (p) => p.temp) }], format: (v) => `${+v.toFixed(1)} °C` },
    {
      title: 'Memory used',
      series: [
        { label: 'used', color: '#7c3aed', values: pick(pts, (p) => p.memUsed) },
        { label: 'total', color: '#a1a1aa', values: pick(pts, (p) => p.memTotal) },
      ],
      format: mib,
      binary: true,
    },
    {
      title: 'Load average',
      series: [
        { label: '1 min', color: '#0891b2', values: pick(pts, (p) => p.load1) },
        { label: '5 min', color: '#65a30d', values: pick(pts, (p) => p.load5) },
        { label: '15 min', color: '#d97706', values: pick(pts, (p) => p.load15) },
      ],
      format: (v) => String(+v.toFixed(2)),
    },
    {
      title: 'Network bytes per sample',
      series: [
        { label: 'received', color: '#059669', values: pick(pts, (p) => p.netRx) },
        { label: 'sent', color: '#db2777', values: pick(pts, (p) => p.netTx) },
      ],
      format: bytes,
      binary: true,
    },
  ];

  return (
    <section className="telemetry" data-testid="telemetry">
      <div className="toolbar">
        <h2>Telemetry</h2>
        <div className="segmented" role="group" aria-label="Time range">
          {RANGES.map((r) => (
            <button key={r.label} type="button" aria-pressed={range === r.ms} className={range === r.ms ? 'on' : ''} onClick={() => setRange(r.ms)}>
              {r.label}
            </button>
          ))}
        </div>
        <span className="muted small spacer">
          {loading ? 'loading…' : data ? `${pts.length} points, ${data.series.resolution === '1m' ? '1-minute averages' : 'raw samples'}, refreshes every 30 s` : ''}
        </span>
      </div>
      {error && <p className="error">Telemetry unavailable: {error}</p>}
      {data && pts.length === 0 ? (
        <div className="empty" data-testid="telemetry-empty">
          <p>No telemetry yet in this range.</p>
          <p className="muted small">An online agent reports every 30 s; try a longer range for an offline device.</p>
        </div>
      ) : data ? (
        <div className="charts">
          {charts.map((c) => (
            <LineChart key={c.title} title={c.title} times={times} series={c.series} from={data.from} to={data.to} format={c.format} binary={c.binary} />
          ))}
        </div>
      ) : null}
    </section>
  );
}
