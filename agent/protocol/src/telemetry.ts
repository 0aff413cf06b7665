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
