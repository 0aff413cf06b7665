/**
 * Telemetry is sent as compact columnar batches: the field order below is part of the protocol,
 * each sample is an array of integers (or null when the Pi cannot measure it) in that order.
 * Integers in fixed units keep an idle device well under 25 MB/month on the wire.
 * New fields are only ever appended; older hubs ignore trailing extras.
 */
export const TELEMETRY_FIELDS = [
  'dt', // seconds before the message's `ts` at which the sample was taken
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

export function encodeSample(sample: TelemetrySample): (number | null)[] {
  return TELEMETRY_FIELDS.map((f) => {
    const v = sample[f];
    return v === null || !Number.isFinite(v) ? null : Math.round(v);
  });
}

/** Turns a batch back into timed samples; `ts` is the batch's send time in ms. */
export function decodeSamples(ts: number, rows: (number | null)[][]): TimedSample[] {
  return rows.map((row) => {
    const out: Record<string, number | null> = {};
    TELEMETRY_FIELDS.forEach((f, i) => {
      out[f] = row[i] ?? null;
    });
    const dt = out['dt'] ?? 0;
    delete out['dt'];
    return { ...(out as Omit<TelemetrySample, 'dt'>), ts: ts - dt * 1000 };
  });
}
