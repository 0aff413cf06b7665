import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { TelemetryMessageSchema, allDevices, decodePayload, parseDeviceTopic } from '@pifleet/protocol';
import { HubConfig } from '../config/hub-config.js';
import type { TelemetryPoint, TelemetrySeries } from '../contract.js';
import { DeviceEvents } from '../common/device-events.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { PresenceService } from '../presence/presence.service.js';
import { TelemetryBuffer } from './telemetry-buffer.js';
import { TelemetryRepository, type StoredPoint } from './telemetry.repository.js';
import { toPoint, toRawRows } from './telemetry-units.js';

/** ~1 minute of 5,000 devices at one sample per 10 s, many times over; beyond it the oldest go. */
const BUFFER_ROWS = 200_000;
/** 16 parameters a row keeps one INSERT under Postgres' 65,535 bind parameters. */
const BATCH_ROWS = 2000;
const ROLLUP_MS = 60_000;
const RAW_RETENTION_MS = 24 * 3600_000;
const ROLLUP_RETENTION_MS = 30 * 24 * 3600_000;
const AUTO_RAW_MAX_RANGE_MS = 6 * 3600_000;
const MAX_POINTS = 5000;

export interface HistoryQuery {
  from?: Date;
  to?: Date;
  resolution: 'raw' | '1m' | 'auto';
}

/**
 * Telemetry intake and history. Messages are validated and converted at the edge, buffered
 * (bounded), and written in multi-row batches every telemetryFlushMs; a minute job rolls
 * completed minutes into telemetry_1m and applies retention (raw 24 h, rollups 30 days).
 */
@Injectable()
export class TelemetryService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly buffer = new TelemetryBuffer(BUFFER_ROWS);
  private timers: NodeJS.Timeout[] = [];
  private flushing?: Promise<void>;
  private rolling?: Promise<void>;
  private watermark?: Date;
  /** Earliest sample written below the watermark since the last rollup (late, buffered data). */
  private dirtyFrom?: Date;
  private readonly m;

  constructor(
    private readonly config: HubConfig,
    private readonly repo: TelemetryRepository,
    private readonly link: MqttLink,
    private readonly presence: PresenceService,
    private readonly events: DeviceEvents,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.m = {
      invalid: metrics.counter('pifleet_mqtt_messages_invalid_total', 'MQTT messages dropped as invalid', ['kind', 'reason']),
      dropped: metrics.counter('pifleet_telemetry_dropped_total', 'Telemetry rows dropped because the write buffer was full'),
      written: metrics.counter('pifleet_telemetry_rows_written_total', 'Telemetry rows written to telemetry_raw'),
      depth: metrics.gauge('pifleet_telemetry_buffer_rows', 'Telemetry rows waiting to be written'),
      flush: metrics.histogram('pifleet_telemetry_flush_seconds', 'Duration of one telemetry batch write', [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]),
      errors: metrics.counter('pifleet_telemetry_write_errors_total', 'Failed telemetry writes (rows kept for retry)', ['op']),
    };
  }

  async onModuleInit(): Promise<void> {
    this.watermark = await this.repo.watermark();
    this.link.subscribe(allDevices('telemetry'), (topic, payload) => this.onTelemetry(topic, payload), { qos: 1 });
    this.timers.push(setInterval(() => void this.flush(), this.config.telemetryFlushMs));
    this.timers.push(setInterval(() => void this.rollup(), ROLLUP_MS));
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.rolling;
    await this.flush();
  }

  onTelemetry(topic: string, payload: Buffer): void {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return void this.m.invalid.inc({ kind: 'telemetry', reason: 'topic' });
    const r = decodePayload(TelemetryMessageSchema, payload);
    if (!r.ok) {
      this.m.invalid.inc({ kind: 'telemetry', reason: r.error });
      this.log.debug({ deviceId: parsed.deviceId, reason: r.error, detail: r.detail }, 'telemetry dropped');
      return;
    }
    const rows = toRawRows(parsed.deviceId, r.value.ts, r.value.samples, r.value.fields);
    const dropped = this.buffer.push(rows);
    if (dropped) this.m.dropped.inc(dropped);
    this.m.depth.set(this.buffer.size);
    this.presence.seen(parsed.deviceId);
  }

  /** Writes everything buffered so far (one flush at a time); failed batches stay buffered. */
  flush(): Promise<void> {
    this.flushing ??= this.writeBuffered().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeBuffered(): Promise<void> {
    while (this.buffer.size > 0) {
      const rows = this.buffer.take(BATCH_ROWS);
      const end = this.m.flush.startTimer();
      try {
        await this.repo.insertRaw(rows);
      } catch (err) {
        this.m.errors.inc({ op: 'insert' });
        this.log.warn({ err, rows: rows.length }, 'telemetry write failed; will retry');
        const dropped = this.buffer.putBack(rows);
        if (dropped) this.m.dropped.inc(dropped);
        break;
      } finally {
        end();
        this.m.depth.set(this.buffer.size);
      }
      this.m.written.inc(rows.length);
      // Live views show each device's latest figures; the device feed coalesces these per window.
      for (const id of new Set(rows.map((r) => r.deviceId))) this.events.changed(id);
      const earliest = rows.reduce((min, r) => (r.ts < min ? r.ts : min), rows[0]!.ts);
      if (this.watermark && earliest < this.watermark && (!this.dirtyFrom || earliest < this.dirtyFrom)) this.dirtyFrom = earliest;
    }
  }

  /** Rolls up completed minutes (plus any minute that received late data) and applies retention. */
  rollup(now = new Date()): Promise<void> {
    this.rolling ??= this.rollupOnce(now).finally(() => (this.rolling = undefined));
    return this.rolling;
  }

  private async rollupOnce(now: Date): Promise<void> {
    const to = new Date(Math.floor(now.getTime() / 60_000) * 60_000);
    const oldest = new Date(now.getTime() - RAW_RETENTION_MS);
    let from = this.watermark && this.watermark > oldest ? this.watermark : oldest;
    const dirty = this.dirtyFrom;
    this.dirtyFrom = undefined;
    if (dirty && dirty < from) from = dirty;
    from = new Date(Math.floor(from.getTime() / 60_000) * 60_000);
    try {
      if (from < to) {
        await this.repo.rollup(from, to);
        await this.repo.setWatermark(to);
        this.watermark = to;
      }
      await this.repo.deleteOlder(oldest, new Date(now.getTime() - ROLLUP_RETENTION_MS));
    } catch (err) {
      // Data that arrived meanwhile may have set dirtyFrom again; keep the earlier of the two.
      const since = this.dirtyFrom as Date | undefined;
      if (dirty && (!since || dirty < since)) this.dirtyFrom = dirty;
      this.m.errors.inc({ op: 'rollup' });
      this.log.warn({ err }, 'telemetry rollup failed; will retry');
    }
  }

  async history(deviceId: string, q: HistoryQuery): Promise<TelemetrySeries> {
    const to = q.to ?? new Date();
    const from = q.from ?? new Date(to.getTime() - 3600_000);
    const resolution = q.resolution === 'auto' ? (to.getTime() - from.getTime() <= AUTO_RAW_MAX_RANGE_MS ? 'raw' : '1m') : q.resolution;
    const rows: StoredPoint[] =
      resolution === 'raw' ? await this.repo.raw(deviceId, from, to, MAX_POINTS) : await this.repo.minutes(deviceId, from, to, MAX_POINTS);
    return { deviceId, resolution, points: rows.map((r) => toPoint(withLoads(r))) };
  }

  async latest(deviceIds: string[]): Promise<Map<string, TelemetryPoint>> {
    const out = new Map<string, TelemetryPoint>();
    for (const { deviceId, ...p } of await this.repo.latest(deviceIds)) out.set(deviceId, toPoint(withLoads(p)));
    return out;
  }
}

function withLoads(p: StoredPoint): StoredPoint & { load5: number | null; load15: number | null } {
  return { ...p, load5: p.load5 ?? null, load15: p.load15 ?? null };
}
