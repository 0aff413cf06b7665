import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { IngestDropsRepository, type DropTally } from './ingest-drops.repository.js';

/** The ingest streams; every path that takes data from devices names itself with one of these. */
export type IngestStream = 'presence' | 'telemetry' | 'retained' | 'state' | 'events';

const FLUSH_MS = 10_000;
/** Distinct (device, stream, reason) tallies held between flushes; past it only the metric counts. */
const MAX_PENDING = 50_000;
/** One warning per device per this period, however much it sends. */
const LOG_EVERY_MS = 60_000;
const MAX_LOG_STATE = 100_000;

/**
 * Counts what the hub drops, per stream and reason (Prometheus `pifleet_ingest_rejected_total`)
 * and per device (table ingest_drops, shown on the device's page), and logs one rate-limited
 * warning naming the device. Dropping is always a decision at the edge or an isolated row the
 * database refused: it never blocks other devices and is never retried.
 */
@Injectable()
export class IngestDrops implements OnModuleInit, BeforeApplicationShutdown {
  private pending = new Map<string, DropTally>();
  private readonly lastLog = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private flushing?: Promise<void>;
  private readonly rejected;
  private readonly untracked;

  constructor(
    private readonly repo: IngestDropsRepository,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.rejected = metrics.counter('pifleet_ingest_rejected_total', 'Ingest items dropped, by stream and reason', ['stream', 'reason']);
    this.untracked = metrics.counter('pifleet_ingest_drops_untracked_total', 'Drops counted in the metric only (per-device tally table full)');
  }

  onModuleInit(): void {
    this.timer = setInterval(() => void this.flush(), FLUSH_MS);
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.flush();
  }

  /**
   * Counts `n` dropped items. `detail` goes into the (rate-limited) log line only: a SQLSTATE, a
   * field name; never the payload.
   */
  record(stream: IngestStream, reason: string, deviceId: string | undefined, n = 1, detail?: string): void {
    if (n <= 0) return;
    this.rejected.inc({ stream, reason }, n);
    if (!deviceId) return;
    const now = new Date();
    const key = `${deviceId}\t${stream}\t${reason}`;
    const t = this.pending.get(key);
    if (t) {
      t.count += n;
      t.lastAt = now;
    } else if (this.pending.size < MAX_PENDING) {
      this.pending.set(key, { deviceId, stream, reason, count: n, firstAt: now, lastAt: now });
    } else {
      this.untracked.inc(n);
    }
    const last = this.lastLog.get(deviceId);
    if (last === undefined || now.getTime() - last >= LOG_EVERY_MS) {
      if (this.lastLog.size >= MAX_LOG_STATE) this.lastLog.clear();
      this.lastLog.set(deviceId, now.getTime());
      this.log.warn({ deviceId, stream, reason, count: n, detail }, 'dropping input from device (further drops from it are counted, logged at most once a minute)');
    }
  }

  /** Persisted tallies plus those not yet flushed. */
  async forDevice(deviceId: string): Promise<DropTally[]> {
    const rows = await this.repo.forDevice(deviceId);
    const byKey = new Map(rows.map((r) => [`${r.deviceId}\t${r.stream}\t${r.reason}`, { ...r }]));
    for (const [key, p] of this.pending) {
      if (p.deviceId !== deviceId) continue;
      const r = byKey.get(key);
      if (r) {
        r.count += p.count;
        if (p.lastAt > r.lastAt) r.lastAt = p.lastAt;
      } else byKey.set(key, { ...p });
    }
    return [...byKey.values()].sort((a, b) => a.stream.localeCompare(b.stream) || a.reason.localeCompare(b.reason));
  }

  /** Writes pending tallies; on failure they are merged back and tried at the next flush. */
  flush(): Promise<void> {
    this.flushing ??= this.writePending().finally(() => (this.flushing = undefined));
    return this.flushing;
  }

  private async writePending(): Promise<void> {
    if (this.pending.size === 0) return;
    const batch = this.pending;
    this.pending = new Map();
    try {
      await this.repo.add([...batch.values()]);
    } catch (err) {
      for (const [key, t] of batch) {
        const newer = this.pending.get(key);
        if (newer) {
          newer.count += t.count;
          newer.firstAt = t.firstAt;
        } else if (this.pending.size < MAX_PENDING) this.pending.set(key, t);
        else this.untracked.inc(t.count);
      }
      this.log.warn({ err }, 'ingest drop tallies not saved; will retry');
    }
  }
}
