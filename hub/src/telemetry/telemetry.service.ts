import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { TelemetryMessageSchema, allDevices, decodePayload, parseDeviceTopic } from '@pifleet/protocol';
import { HubConfig } from '../config/hub-config.js';
import type { TelemetryPoint, TelemetrySeries } from '../contract.js';
import { DomainEvents } from '../common/domain-events.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { PresenceService } from '../presence/presence.service.js';
import { DeviceLimits } from '../ingest/device-limits.service.js';
import { IngestDrops } from '../ingest/ingest-drops.service.js';
import { retryDelayMs, writeIsolating } from '../ingest/isolating-write.js';
import { sqlState } from '../db/errors.js';
import { TelemetryBuffer } from './telemetry-buffer.js';
import { TelemetryRepository, type StoredPoint } from './telemetry.repository.js';
import { toPoint, toRawRows, type RawRow } from './telemetry-units.js';

/** 16 parameters a row keeps one INSERT under Postgres' 65,535 bind parameters. */
const BATCH_ROWS = 2000;
/**
 * PGlite runs queries on the hub's own thread: one statement of 2,000 rows holds the event loop
 * for ~100 ms. Smaller statements with a yield between them keep HTTP answering during a flood.
 */
const PGLITE_BATCH_ROWS = 200;
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
 * A full buffer holds the message (and so its MQTT acknowledgement) until the writer has made
 * room: during a database outage the broker keeps what the hub cannot hold, nothing is dropped.
 */
@Injectable()
export class TelemetryService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly buffer: TelemetryBuffer;
  private timers: NodeJS.Timeout[] = [];
  private flushing?: Promise<void>;
  private rolling?: Promise<void>;
  private watermark?: Date;
  /** Earliest sample written below the watermark since the last rollup (late, buffered data). */
  private dirtyFrom?: Date;
  /** Consecutive failed writes (database away) and when the writer may try again. */
  private failures = 0;
  private retryAt = 0;
  /** When a full buffer was last logged: once a minute is enough to say the hub is holding back. */
  private fullLoggedAt = 0;
  private readonly batchRows: number;
  private readonly m;

  constructor(
    private readonly config: HubConfig,
    private readonly repo: TelemetryRepository,
    private readonly link: MqttLink,
    private readonly presence: PresenceService,
    private readonly events: DomainEvents,
    private readonly limits: DeviceLimits,
    private readonly drops: IngestDrops,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.batchRows = config.databaseUrl ? BATCH_ROWS : PGLITE_BATCH_ROWS;
    this.buffer = new TelemetryBuffer(config.telemetryBufferRows);
    this.m = {
      written: metrics.counter('pifleet_telemetry_rows_written_total', 'Telemetry rows written to telemetry_raw'),
      depth: metrics.gauge('pifleet_telemetry_buffer_rows', 'Telemetry rows waiting to be written'),
      waiting: metrics.gauge('pifleet_telemetry_buffer_waiting', 'Telemetry messages waiting for room in the full buffer'),
      flush: metrics.histogram('pifleet_telemetry_flush_seconds', 'Duration of one telemetry batch write', [0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]),
      errors: metrics.counter('pifleet_telemetry_write_errors_total', 'Failed telemetry writes and rollups (kept for retry)', ['op']),
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
    this.retryAt = 0; // one last try, whatever the backoff says
    await this.flush();
  }

  /** Resolves once the message's rows are in the buffer (or it was dropped and counted). */
  async onTelemetry(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return void this.drops.record('telemetry', 'topic', undefined);
    const deviceId = parsed.deviceId;
    // An empty payload clears a retained message (the hub does so on revoke); it carries no data.
    if (payload.length === 0) return;
    if (!this.limits.admit(deviceId, 'telemetry', payload.length)) return;
    const r = decodePayload(TelemetryMessageSchema, payload);
    if (!r.ok) return void this.drops.record('telemetry', r.error, deviceId, 1, r.detail);
    const batch = toRawRows(deviceId, r.value.ts, r.value.samples, r.value.fields, this.config.telemetryWindow);
    for (const [reason, n] of batch.rejected) this.drops.record('telemetry', reason, deviceId, n, reason === 'range' ? [...batch.badFields].join(',') : undefined);
    this.presence.seen(deviceId);
    if (batch.rows.length === 0 || !this.limits.admitRows(deviceId, batch.rows.length)) return;
    let queued = this.buffer.push(batch.rows);
    if (queued !== true && queued !== false) {
      this.m.waiting.set(this.buffer.waiting);
      if (Date.now() - this.fullLoggedAt >= 60_000) {
        this.fullLoggedAt = Date.now();
        this.log.warn({ rows: this.buffer.size, capacity: this.buffer.capacity }, 'telemetry buffer full; holding MQTT acknowledgements until rows are written');
      }
      queued = await queued;
    }
    if (!queued) this.drops.record('telemetry', 'buffer_full', deviceId, batch.rows.length);
    this.m.depth.set(this.buffer.size);
    this.m.waiting.set(this.buffer.waiting);
  }

  /** Writes everything buffered so far (one flush at a time); rows are kept while the database is away. */
  flush(): Promise<void> {
    this.flushing ??= this.writeBuffered().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writeBuffered(): Promise<void> {
    if (Date.now() < this.retryAt) return;
    while (this.buffer.size > 0) {
      const rows = this.buffer.take(this.batchRows);
      const end = this.m.flush.startTimer();
      const rejected = new Set<RawRow>();
      let r: Awaited<ReturnType<typeof writeIsolating<RawRow>>>;
      try {
        r = await writeIsolating(
          rows,
          (chunk) => this.repo.insertRaw(chunk),
          (row, err) => {
            rejected.add(row);
            this.drops.record('telemetry', 'db_rejected', row.deviceId, 1, sqlState(err));
          },
        );
      } catch (err) {
        // Not expected (outages come back as `unwritten`), but the rows must not vanish with it.
        r = { written: 0, rejected: 0, unwritten: rows, error: err };
      }
      end();
      // Written and refused rows leave memory and make room for messages waiting on a full buffer.
      this.buffer.settle(rows.length, r.unwritten);
      if (r.written > 0) this.m.written.inc(r.written);
      if (r.unwritten) {
        this.failures++;
        this.retryAt = Date.now() + retryDelayMs(this.failures);
        this.m.errors.inc({ op: 'insert' });
        this.log.warn({ err: r.error, rows: r.unwritten.length, retryInMs: this.retryAt - Date.now() }, 'telemetry write failed; will retry');
        this.m.depth.set(this.buffer.size);
        break;
      }
      this.failures = 0;
      this.m.depth.set(this.buffer.size);
      this.announce(rows, rejected);
      const earliest = rows.reduce((min, row) => (row.ts < min ? row.ts : min), rows[0]!.ts);
      if (this.watermark && earliest < this.watermark && (!this.dirtyFrom || earliest < this.dirtyFrom)) this.dirtyFrom = earliest;
      // Let HTTP requests and MQTT messages in between two statements.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }

  /**
   * Tells live views each device's newest sample of a completed write (`telemetry.stored`), so
   * they need not re-read anything. A late batch may hold samples older than one sent before;
   * receivers keep the newer (TelemetryUpdate).
   */
  private announce(rows: RawRow[], rejected: Set<RawRow>): void {
    const newest = new Map<string, RawRow>();
    for (const row of rows) {
      if (rejected.has(row)) continue;
      const seen = newest.get(row.deviceId);
      if (!seen || row.ts > seen.ts) newest.set(row.deviceId, row);
    }
    const receivedAt = new Date();
    for (const [deviceId, { deviceId: _id, ...row }] of newest) this.events.emit('telemetry.stored', { deviceId, point: toPoint(row), receivedAt });
  }

  /** Rolls up completed minutes (plus any minute that received late data) and applies retention. */
  rollup(now = new Date()): Promise<void> {
    this.rolling ??= this.rollupOnce(now).finally(() => (this.rolling = undefined));
    return this.rolling;
  }

  /**
   * Rollup and retention run independently: a failed rollup (database away) keeps its range for
   * the next minute and never stops retention, and the other way round.
   */
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
        const refused = await this.repo.rollup(from, to);
        for (const { deviceId, err } of refused) this.drops.record('telemetry', 'rollup_rejected', deviceId, 1, sqlState(err));
        await this.repo.setWatermark(to);
        this.watermark = to;
      }
    } catch (err) {
      // Data that arrived meanwhile may have set dirtyFrom again; keep the earlier of the two.
      const since = this.dirtyFrom as Date | undefined;
      if (dirty && (!since || dirty < since)) this.dirtyFrom = dirty;
      this.m.errors.inc({ op: 'rollup' });
      this.log.warn({ err }, 'telemetry rollup failed; will retry');
    }
    try {
      await this.repo.deleteOlder(oldest, new Date(now.getTime() - ROLLUP_RETENTION_MS));
    } catch (err) {
      this.m.errors.inc({ op: 'retention' });
      this.log.warn({ err }, 'telemetry retention failed; will retry');
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
