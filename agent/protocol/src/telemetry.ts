/**
 * Telemetry is sent as compact columnar batches: the field order below is part of the protocol,
 * each sample is an array of integers (or null when the Pi cannot measure it) in that order.
 * The first row of a batch holds absolute values; every later row holds, per column, the
 * difference from the row before (a null stays null; after a null the value is absolute). On an
 * idle Pi most differences are 0 or one digit, which keeps a device under 25 MB/month.
 * New fields are only ever appended; older hubs ignore trailing extras.
 */
export const TELEMETRY_FIELDS = [
  'dt', // milliseconds before the message's `ts` at which the sample was taken
  'cpu', // whole-system CPU busy, permille (0..1000)
  'load1', // load average x100
  'load5',
  'load15',
  'memUsed', // MiB (total minus available)
  'memTotal', // MiB
  'diskUsed', // MiB, filesystem holding the agent's data dir
  'diskTotal', // MiB
  'temp', // SoC temperature, deci-degrees Celsius
  'throttled', // bitmask from `vcgencmd get_throttled` (undervoltage = bit 0, throttled = bit 2...)
  'netRx', // bytes received on all non-loopback interfaces since the previous sample
  'netTx', // bytes sent since the previous sample
  'uptime', // seconds since boot
  'agentRss', // agent resident memory, KiB
  'agentCpu', // agent CPU use, permille of one core
] as const;

export type TelemetryField = (typeof TELEMETRY_FIELDS)[number];

/**
 * What each field may hold, in wire units, after delta decoding: every value is an integer in
 * [min, max]. The bounds are far beyond any real Pi (so no honest reading is lost) but keep every
 * value inside the hub's column types and every rollup sum far from overflow. A value outside
 * them is a bug or an attack; receivers replace it with null and count it.
 */
export const TELEMETRY_RANGES: Record<TelemetryField, { min: number; max: number }> = {
  dt: { min: 0, max: 30 * 24 * 3600_000 }, // a month of buffering
  cpu: { min: 0, max: 1000 },
  load1: { min: 0, max: 1_000_000 }, // load 10,000
  load5: { min: 0, max: 1_000_000 },
  load15: { min: 0, max: 1_000_000 },
  memUsed: { min: 0, max: 1 << 30 }, // 1 PiB in MiB
  memTotal: { min: 0, max: 1 << 30 },
  diskUsed: { min: 0, max: 2 ** 40 }, // 1 EiB in MiB
  diskTotal: { min: 0, max: 2 ** 40 },
  temp: { min: -1000, max: 3000 }, // -100 °C .. 300 °C
  throttled: { min: 0, max: 0x7fffffff }, // an int4 bitmask
  netRx: { min: 0, max: 1e13 }, // 10 TB between two samples
  netTx: { min: 0, max: 1e13 },
  uptime: { min: 0, max: 1e10 }, // 300 years
  agentRss: { min: 0, max: 1 << 30 }, // 1 TiB in KiB
  agentCpu: { min: 0, max: 1_000_000 }, // permille of one core, many cores
};

/** True when `v` may be stored for `field` (see TELEMETRY_RANGES). */
export function inTelemetryRange(field: TelemetryField, v: number): boolean {
  const r = TELEMETRY_RANGES[field];
  return Number.isInteger(v) && v >= r.min && v <= r.max;
}
export type TelemetrySample = { [K in TelemetryField]: number | null };
/** A decoded sample with its absolute time. */
export type TimedSample = Omit<TelemetrySample, 'dt'> & { ts: number };

function toInt(v: number | null): number | null {
  return v === null || !Number.isFinite(v) ? null : Math.round(v);
}

/** Encodes samples (oldest first) into the rows of one telemetry message. */
export function encodeBatch(samples: TelemetrySample[]): (number | null)[][] {
  let prev: (number | null)[] | undefined;
  return samples.map((sample) => {
    const abs = TELEMETRY_FIELDS.map((f) => toInt(sample[f]));
    const row = prev ? abs.map((v, i) => (v === null ? null : v - (prev![i] ?? 0))) : abs;
    prev = abs;
    return row;
  });
}

/** Undoes the delta encoding: every row with absolute values, whatever the column set. */
export function absoluteRows(rows: (number | null)[][]): (number | null)[][] {
  let prev: (number | null)[] | undefined;
  return rows.map((row) => {
    const abs = row.map((v, i) => (v === null || v === undefined ? null : prev ? v + (prev[i] ?? 0) : v));
    prev = abs;
    return abs;
  });
}

/** Turns a message's rows back into timed samples; `ts` is the message's send time in ms. */
export function decodeSamples(ts: number, rows: (number | null)[][]): TimedSample[] {
  return absoluteRows(rows).map((abs) => {
    const out: Record<string, number | null> = {};
    TELEMETRY_FIELDS.forEach((f, i) => {
      out[f] = abs[i] ?? null;
    });
    const dt = out['dt'] ?? 0;
    delete out['dt'];
    return { ...(out as Omit<TelemetrySample, 'dt'>), ts: ts - dt };
  });
}
