/**
 * Small dependency-free SVG line chart: time on x, values on y, round ticks, a hover line with a
 * tooltip. A chart library would multiply the bundle for five simple charts.
 */
import { useEffect, useRef, useState, type MouseEvent } from 'react';
import { binaryTicks, linePath, medianStep, niceTicks, timeTicks } from './chart-scale';

export interface Series {
  label: string;
  color: string;
  values: (number | null)[];
}

interface Props {
  title: string;
  times: number[];
  series: Series[];
  from: number;
  to: number;
  format: (v: number) => string;
  /** Keep 0 on the y axis (percentages, bytes) rather than zooming into the data range. */
  zeroBased?: boolean;
  /** Sizes (bytes, MiB): place ticks at round multiples of 1024^n. */
  binary?: boolean;
}

const H = 170;
const M = { top: 10, right: 12, bottom: 22, left: 56 };

export function LineChart({ title, times, series, from, to, format, zeroBased = true, binary = false }: Props) {
  const box = useRef<HTMLDivElement>(null);
  const [width, setWidth] = useState(480);
  const [hover, setHover] = useState<number | null>(null);

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const ro = new ResizeObserver(([e]) => e && setWidth(Math.max(240, Math.floor(e.contentRect.width))));
    ro.observe(el);
    return () => ro.disconnect();
  }, []);

  const all = series.flatMap((s) => s.values).filter((v): v is number => v !== null);
  const hasData = all.length > 0;
  const ticks = (binary ? binaryTicks : niceTicks)(zeroBased ? Math.min(0, ...all) : Math.min(...all), Math.max(...all));
  const lo = ticks[0] ?? 0;
  const hi = ticks[ticks.length - 1] ?? 1;
  const iw = width - M.left - M.right;
  const ih = H - M.top - M.bottom;
  const x = (t: number) => M.left + ((t - from) / Math.max(1, to - from)) * iw;
  const y = (v: number) => M.top + ih - ((v - lo) / (hi - lo || 1)) * ih;
  const maxGap = medianStep(times) * 3;

  const onMove = (e: MouseEvent<SVGSVGElement>) => {
    if (!times.length) return;
    const px = e.clientX - e.currentTarget.getBoundingClientRect().left;
    const t = from + ((px - M.left) / iw) * (to - from);
    let best = 0;
    for (let i = 1; i < times.length; i++) if (Math.abs(times[i]! - t) < Math.abs(times[best]! - t)) best = i;
    setHover(best);
  };

  const ht = hover !== null ? times[hover] : undefined;
  return (
    <figure className="chart" data-testid="chart" ref={box}>
      <figcaption>
        <span className="chart-title">{title}</span>
        {series.length > 1 &&
          series.map((s) => (
            <span key={s.label} className="legend">
              <span className="swatch" style={{ background: s.color }} />
              {s.label}
            </span>
          ))}
      </figcaption>
      {!hasData ? (
        <div className="chart-empty muted">no data in this range</div>
      ) : (
        <svg width={width} height={H} onMouseMove={onMove} onMouseLeave={() => setHover(null)} role="img" aria-label={title}>
          {ticks.map((v) => (
            <g key={v}>
              <line x1={M.left} x2={width - M.right} y1={y(v)} y2={y(v)} className="grid" />
              <text x={M.left - 6} y={y(v) + 4} textAnchor="end" className="axis">
                {format(v)}
              </text>
            </g>
          ))}
          {timeTicks(from, to, Math.max(2, Math.floor(iw / 110))).map(({ t, label }) => (
            <text key={t} x={x(t)} y={H - 6} textAnchor="middle" className="axis">
              {label}
            </text>
          ))}
          {series.map((s) => (
            <path key={s.label} d={linePath(times.map((t, i) => [t, s.values[i] ?? null] as const), x, y, maxGap)} stroke={s.color} className="line" />
          ))}
          {ht !== undefined && hover !== null && (
            <g className="hover">
              <line x1={x(ht)} x2={x(ht)} y1={M.top} y2={M.top + ih} />
              <foreignObject x={Math.min(x(ht) + 8, width - 170)} y={M.top} width={160} height={20 + 18 * series.length}>
                <div className="tooltip">
                  <div>{new Date(ht).toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'medium' })}</div>
                  {series.map((s) => (
                    <div key={s.label}>
                      <span className="swatch" style={{ background: s.color }} /> {s.label}: {s.values[hover] == null ? '—' : format(s.values[hover]!)}
                    </div>
                  ))}
                </div>
              </foreignObject>
            </g>
          )}
        </svg>
      )}
    </figure>
  );
}
