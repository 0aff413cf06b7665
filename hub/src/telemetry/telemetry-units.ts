import { TELEMETRY_FIELDS, absoluteRows } from '@pifleet/protocol';
import type { TelemetryPoint } from '../contract.js';

type Field = Exclude<(typeof TELEMETRY_FIELDS)[number], 'dt'>;
/** One telemetry_raw row in the contract's units (as TelemetryPoint): a column per protocol field (dt becomes ts). */
export type RawRow = { deviceId: string; ts: Date } & { [K in Field]: number | null };

/** Wire integer -> contract unit. Fields not listed are already in the contract's unit. */
const SCALE: Partial<Record<Field, number>> = {
  cpu: 0.1, // permille -> percent
  agentCpu: 0.1, // permille of one core -> percent of one core
  load1: 0.01, // x100 -> load average
  load5: 0.01,
  load15: 0.01,
  temp: 0.1, // deci-degrees -> degrees Celsius
};

/** Samples more than this far in the future (clock skew, bugs) are dropped rather than stored. */
const MAX_FUTURE_MS = 5 * 60_000;
/** Older than raw retention: it would be deleted at once and would never be rolled up. */
const MAX_AGE_MS = 24 * 3600_000;

/**
 * Turns one telemetry message into rows. `fields` (optional on the wire) names the columns; when
 * absent the protocol's TELEMETRY_FIELDS order applies. Unknown columns are ignored (newer agents).
 */
export function toRawRows(deviceId: string, ts: number, samples: (number | null)[][], fields?: readonly string[], now = Date.now()): RawRow[] {
  const names = fields ?? TELEMETRY_FIELDS;
  const index = new Map(names.map((n, i) => [n, i]));
  const dtIdx = index.get('dt');
  const rows: RawRow[] = [];
  const seen = new Set<number>();
  for (const sample of absoluteRows(samples)) {
    const dt = dtIdx === undefined ? 0 : (sample[dtIdx] ?? 0);
    const at = ts - dt;
    if (at > now + MAX_FUTURE_MS || at < now - MAX_AGE_MS || seen.has(at)) continue;
    seen.add(at);
    const row = { deviceId, ts: new Date(at) } as RawRow;
    for (const f of TELEMETRY_FIELDS) {
      if (f === 'dt') continue;
      const i = index.get(f);
      const v = i === undefined ? null : (sample[i] ?? null);
      const scale = SCALE[f];
      row[f] = v === null ? null : scale ? Math.round(v * scale * 1000) / 1000 : v;
    }
    rows.push(row);
  }
  return rows;
}

export function toPoint(r: Omit<RawRow, 'deviceId'>): TelemetryPoint {
  const { ts, ...rest } = r;
  return { ...rest, ts: ts.toISOString() };
}
