import {
  TELEMETRY_MAX_BUFFERED_SAMPLES,
  TELEMETRY_MAX_SAMPLES_PER_MESSAGE,
  encodeBatch,
  envelope,
  type TelemetryMessage,
} from '@pifleet/protocol';
import type { Logger } from '../log/logger.js';
import { RingBuffer } from './ring-buffer.js';
import type { TimedValues } from './sampler.js';

/** What the reporter needs from the MQTT link (MqttLink satisfies it). */
export interface TelemetrySink {
  readonly connected: boolean;
  readonly hubOnline: boolean;
  publish(leaf: string, payload: string, qos: 0 | 1): Promise<boolean>;
}

export interface SampleSource {
  prime(): Promise<void>;
  sample(): Promise<TimedValues>;
}

export interface TelemetryReporterOptions {
  source: SampleSource;
  sink: TelemetrySink;
  log: Logger;
  sampleMs: number;
  publishMs: number;
  capacity?: number;
  perMessage?: number;
}

/** Delay before flushing after the link or the hub comes back, so the retained hub status lands first. */
const RESUME_FLUSH_DELAY_MS = 1000;

/**
 * Samples on one timer, publishes batches on another. Samples wait in a bounded ring until the
 * link is up and the hub is online (bulk traffic is held back while the hub is offline),
 * then leave in chunks of at most TELEMETRY_MAX_SAMPLES_PER_MESSAGE, oldest first.
 */
export class TelemetryReporter {
  private readonly buffer: RingBuffer<TimedValues>;
  private readonly perMessage: number;
  private readonly timers = new Set<NodeJS.Timeout>();
  private sampling: Promise<void> | undefined;
  private flushing: Promise<void> | undefined;
  private reportedDrops = 0;
  private stopped = false;

  constructor(private readonly o: TelemetryReporterOptions) {
    this.buffer = new RingBuffer(o.capacity ?? TELEMETRY_MAX_BUFFERED_SAMPLES);
    this.perMessage = Math.min(o.perMessage ?? TELEMETRY_MAX_SAMPLES_PER_MESSAGE, TELEMETRY_MAX_SAMPLES_PER_MESSAGE);
  }

  get buffered(): number {
    return this.buffer.size;
  }

  async start(signal: AbortSignal): Promise<void> {
    await this.o.source.prime();
    if (signal.aborted) return;
    const sampleTimer = setInterval(() => void this.takeSample(), this.o.sampleMs);
    const publishTimer = setInterval(() => void this.flush(), this.o.publishMs);
    this.timers.add(sampleTimer).add(publishTimer);
    signal.addEventListener('abort', () => this.stop(), { once: true });
  }

  /** Called when the link comes up or the hub reports online: send the backlog soon, not at the next tick. */
  resume(): void {
    if (this.stopped) return;
    const t = setTimeout(() => {
      this.timers.delete(t);
      void this.flush();
    }, RESUME_FLUSH_DELAY_MS);
    this.timers.add(t);
  }

  private stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t); // clearTimeout also clears intervals
    this.timers.clear();
  }

  private takeSample(): Promise<void> {
    // A slow read (e.g. vcgencmd hanging up to its timeout) must not stack samples up.
    this.sampling ??= this.o.source
      .sample()
      .then((s) => this.buffer.push(s))
      .catch((e: unknown) => this.o.log.warn('telemetry sample failed', { err: e }))
      .finally(() => (this.sampling = undefined));
    return this.sampling;
  }

  /** Sends everything buffered if the link and hub allow; safe to call at any time, never overlaps. */
  flush(): Promise<void> {
    this.flushing ??= this.drain().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  /** Final flush at shutdown: waits for an in-flight sample, then drains what the link takes. */
  async drainForShutdown(): Promise<void> {
    this.stop();
    await this.sampling;
    await this.flush();
  }

  private async drain(): Promise<void> {
    const dropped = this.buffer.dropped;
    if (dropped > this.reportedDrops) {
      this.o.log.warn('telemetry buffer full, oldest samples dropped', { dropped: dropped - this.reportedDrops });
      this.reportedDrops = dropped;
    }
    while (this.buffer.size > 0 && this.o.sink.connected && this.o.sink.hubOnline) {
      const chunk = this.buffer.peek(this.perMessage);
      const droppedBefore = this.buffer.dropped;
      const env = envelope('telemetry');
      const msg: TelemetryMessage = {
        ...env,
        samples: encodeBatch(chunk.map((s) => ({ ...s.values, dt: Math.max(0, env.ts - s.at) }))),
      };
      // QoS 1: samples leave the ring only once the broker has them, and the PUBACK doubles as the
      // keepalive (mqtt.js reschedules its PINGREQ on acks), so an idle Pi sends no pings at all.
      if (!(await this.o.sink.publish('telemetry', JSON.stringify(msg), 1))) return;
      // Samples evicted by the ring while the publish was in flight were the oldest, i.e. ours.
      this.buffer.drop(Math.max(0, chunk.length - (this.buffer.dropped - droppedBefore)));
    }
  }
}
