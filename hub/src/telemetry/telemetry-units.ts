import { TELEMETRY_FIELDS, absoluteRows, inTelemetryRange } from '@pifleet/protocol';
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

/** Accepted sample times relative to the hub's clock (HubConfig.telemetryWindow). */
export interface TimeWindow {
  maxAgeMs: number;
  maxFutureMs: number;
}

/** Why rows or values of a message were not stored; counted per device by the caller. */
export type RowRejection = 'too_old' | 'future' | 'duplicate' | 'range';

export interface ConvertedBatch {
  rows: RawRow[];
  /** Rows dropped (too_old, future, duplicate) and values replaced by null (range), by reason. */
  rejected: Map<RowRejection, number>;
  /** Fields that held out-of-range values, for the log line. */
  badFields: Set<string>;
}

/**
 * Turns one telemetry message into rows. `fields` (optional on the wire) names the columns; when
 * absent the protocol's TELEMETRY_FIELDS order applies. Unknown columns are ignored (newer agents).
 * Values outside TELEMETRY_RANGES (or not finite after delta decoding) become null; rows outside
 * the time window or repeating a time are dropped. Nothing is dropped silently: `rejected` says
 * what and why.
 */
export function toRawRows(
  deviceId: string,
  ts: number,
  samples: (number | null)[][],
  fields: readonly string[] | undefined,
  window: TimeWindow,
  now = Date.now(),
): ConvertedBatch {
  const names = fields ?? TELEMETRY_FIELDS;
  const index = new Map(names.map((n, i) => [n, i]));
  const dtIdx = index.get('dt');
  const rows: RawRow[] = [];
  const rejected = new Map<RowRejection, number>();
  const badFields = new Set<string>();
  const reject = (why: RowRejection) => rejected.set(why, (rejected.get(why) ?? 0) + 1);
  const seen = new Set<number>();
  for (const sample of absoluteRows(samples)) {
    const rawDt = dtIdx === undefined ? 0 : (sample[dtIdx] ?? 0);
    const dt = inTelemetryRange('dt', rawDt) ? rawDt : NaN;
    const at = ts - dt;
    if (!(at <= now + window.maxFutureMs)) {
      reject(Number.isNaN(at) ? 'range' : 'future');
      continue;
    }
    if (at < now - window.maxAgeMs) {
      reject('too_old');
      continue;
    }
    if (seen.has(at)) {
      reject('duplicate');
      continue;
    }
    seen.add(at);
    const row = { deviceId, ts: new Date(at) } as RawRow;
    for (const f of TELEMETRY_FIELDS) {
      if (f === 'dt') continue;
      const i = index.get(f);
      let v = i === undefined ? null : (sample[i] ?? null);
      if (v !== null && !inTelemetryRange(f, v)) {
        reject('range');
        badFields.add(f);
        v = null;
      }
      const scale = SCALE[f];
      row[f] = v === null ? null : scale ? Math.round(v * scale * 1000) / 1000 : v;
    }
    rows.push(row);
  }
  return { rows, rejected, badFields };
}

export function toPoint(r: Omit<RawRow, 'deviceId'>): TelemetryPoint {
  const { ts, ...rest } = r;
  return { ...rest, ts: ts.toISOString() };
}
