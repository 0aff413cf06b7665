/** Pure helpers for the SVG line chart: tick placement and gap-aware path building. */

/** About `count` round tick values (1, 2, 5 × 10^n steps) covering [min, max]. */
export function niceTicks(min: number, max: number, count = 4): number[] {
  if (!Number.isFinite(min) || !Number.isFinite(max)) return [];
  if (min === max) {
    // A flat series still needs a visible band; an all-zero one (idle network) reads best as 0..1.
    if (min === 0) max = 1;
    else {
      const pad = Math.abs(min) * 0.1;
      min -= pad;
      max += pad;
    }
  }
  const raw = (max - min) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.floor(min / step) * step; v <= max + step * 1e-9; v += step) out.push(Number(v.toPrecision(12)));
  if (out[out.length - 1]! < max) out.push(out[out.length - 1]! + step);
  return out;
}

/**
 * Ticks for sizes: round numbers of the binary unit the range is best read in (0, 1, 2 GiB
 * rather than 0, 1000 MiB, 1.95 GiB). Values are in units of 1024^0 (bytes) or any base.
 */
export function binaryTicks(min: number, max: number, count = 4): number[] {
  let f = 1;
  while (Math.max(Math.abs(min), Math.abs(max)) / f >= 1024) f *= 1024;
  return niceTicks(min / f, max / f, count).map((v) => v * f);
}

/** Time ticks at round minutes/hours/days, labelled for the span shown. */
export function timeTicks(from: number, to: number, count = 5): { t: number; label: string }[] {
  const span = to - from;
  const steps = [60e3, 5 * 60e3, 15 * 60e3, 30 * 60e3, 3600e3, 3 * 3600e3, 6 * 3600e3, 12 * 3600e3, 86400e3];
  const step = steps.find((s) => span / s <= count) ?? 86400e3 * Math.ceil(span / 86400e3 / count);
  const offset = new Date(from).getTimezoneOffset() * 60e3; // round in local time, not UTC
  const out: { t: number; label: string }[] = [];
  for (let t = Math.ceil((from - offset) / step) * step + offset; t <= to; t += step) {
    const d = new Date(t);
    const label =
      step >= 86400e3
        ? d.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })
        : span > 86400e3
          ? `${d.toLocaleDateString(undefined, { weekday: 'short' })} ${d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}`
          : d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    out.push({ t, label });
  }
  return out;
}

/**
 * SVG path through the points, broken where a value is missing or where samples are further
 * apart than `maxGap` ms (device offline), so an outage is not drawn as a straight line.
 */
export function linePath(
  pts: readonly (readonly [number, number | null])[],
  x: (t: number) => number,
  y: (v: number) => number,
  maxGap: number,
): string {
  let d = '';
  let prevT: number | null = null;
  for (const [t, v] of pts) {
    if (v === null) {
      prevT = null;
      continue;
    }
    const move = prevT === null || t - prevT > maxGap;
    d += `${move ? 'M' : 'L'}${x(t).toFixed(1)},${y(v).toFixed(1)}`;
    prevT = t;
  }
  return d;
}

/** Typical spacing between samples; gaps much longer than this are outages. */
export function medianStep(times: readonly number[]): number {
  if (times.length < 2) return Infinity;
  const d = times.slice(1).map((t, i) => t - times[i]!).sort((a, b) => a - b);
  return d[Math.floor(d.length / 2)]!;
}
