import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { decodeLeaf, hubSubscription, matchLeaf, storableText } from '@pifleet/protocol';
import { HubConfig } from '../config/hub-config.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { sqlState } from '../db/errors.js';
import { DeviceLimits } from '../ingest/device-limits.service.js';
import { IngestDrops } from '../ingest/ingest-drops.service.js';
import { DeviceGate } from './device-gate.js';
import { ReportedRepository, type ReportedRow } from './reported.repository.js';
import { SupervisionAnnouncer } from './supervision-announcer.service.js';
import { WriteQueue } from './write-queue.js';

/**
 * Reports held at once, by payload bytes (one per device at most: a newer report replaces the
 * one waiting). 64 MiB is thousands of ordinary reports; past it a report waits for room.
 */
const QUEUE_BYTES = 64 * 1024 * 1024;
const MAX_WAITERS = 1000;
/** A report can be 256 KiB; statements stay a few MB. */
const BATCH_ROWS = 20;

/**
 * Intake of `state/reported`: what each device runs. Limits before parsing, then the registry's
 * schema; the topic's device id is the identity (the broker pins a device to its subtree), and
 * a report from a device that is unknown or revoked is dropped and counted. Reports are queued
 * (bounded, one per device) and acknowledged, then stored newest-wins (by envelope ts) in
 * batches: they are retained, so one lost with the process comes again with the next
 * subscription. Each stored one is handed to the announcer (containers on the live stream, alerts).
 */
@Injectable()
export class ReportedIngest implements OnModuleInit, BeforeApplicationShutdown {
  private readonly queue: WriteQueue<ReportedRow & { bytes: number }>;
  private readonly m;

  constructor(
    config: HubConfig,
    private readonly repo: ReportedRepository,
    private readonly link: MqttLink,
    private readonly limits: DeviceLimits,
    private readonly drops: IngestDrops,
    private readonly gate: DeviceGate,
    private readonly announcer: SupervisionAnnouncer,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.m = {
      reports: metrics.counter('pifleet_supervision_reports_total', 'Reported states received, by result (stored; stale: older than the one stored; coalesced: replaced while waiting)', ['result']),
      errors: metrics.counter('pifleet_supervision_write_errors_total', 'Failed supervision writes (kept for retry)', ['op']),
      depth: metrics.gauge('pifleet_supervision_reported_queue_bytes', 'Bytes of reported states waiting to be stored'),
    };
    this.queue = new WriteQueue({
      capacity: QUEUE_BYTES,
      weight: (r) => r.bytes,
      maxWaiters: MAX_WAITERS,
      batchRows: config.databaseUrl ? BATCH_ROWS : BATCH_ROWS / 2,
      // Reports are retained: one lost with the process is handed over again when the hub subscribes.
      settleOnQueue: true,
      key: (r) => r.deviceId,
      merge: (queued, incoming) => {
        this.m.reports.inc({ result: 'coalesced' });
        return incoming.state.ts >= queued.state.ts ? incoming : queued;
      },
      write: (rows) => this.write(rows),
      onRejected: (row, err) => this.drops.record('state', 'db_rejected', row.deviceId, 1, sqlState(err)),
      onFailed: (err, rows, retryInMs) => {
        this.m.errors.inc({ op: 'reported' });
        this.log.warn({ err, rows, retryInMs }, 'reported state write failed; will retry');
      },
    });
  }

  onModuleInit(): void {
    this.link.subscribe(hubSubscription('state/reported'), (topic, payload) => this.onReported(topic, payload), { qos: 1 });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.queue.close();
    await this.queue.flush();
  }

  /**
   * Resolves once the report is queued (or dropped and counted); waits while the queue is full,
   * which holds the acknowledgement and so leaves further reports with the broker.
   */
  async onReported(topic: string, payload: Buffer): Promise<void> {
    const match = matchLeaf(topic);
    if (match?.leaf !== 'state/reported') return void this.drops.record('state', 'topic', undefined);
    const deviceId = match.deviceId;
    // An empty payload clears a retained message (the hub does so on revoke); it reports nothing.
    if (payload.length === 0) return;
    if (!this.limits.admit(deviceId, 'state', payload.length)) return;
    const r = decodeLeaf('state/reported', payload);
    if (!r.ok) return void this.drops.record('state', r.error, deviceId, 1, r.detail);
    // The envelope id is free text stored in jsonb: a NUL or a lone surrogate would be refused there.
    if (storableText(r.value.id) !== r.value.id) return void this.drops.record('state', 'invalid', deviceId, 1, 'id: unstorable characters');
    const verdict = await this.gate.check(deviceId);
    if (verdict === 'unknown' || verdict === 'revoked') return void this.drops.record('state', `${verdict}_device`, deviceId);
    const outcome = await this.queue.push({ deviceId, state: r.value, receivedAt: new Date(), bytes: payload.length });
    if (outcome === 'dropped') this.drops.record('state', 'overload', deviceId);
    this.m.depth.set(this.queue.size);
  }

  /** Resolves when everything received so far is stored (tests, shutdown). */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  private async write(rows: (ReportedRow & { bytes: number })[]): Promise<void> {
    const stored = new Set(await this.repo.upsert(rows));
    for (const row of rows) {
      if (!stored.has(row.deviceId)) {
        this.m.reports.inc({ result: 'stale' });
        continue;
      }
      this.m.reports.inc({ result: 'stored' });
      this.announcer.reported(row);
    }
  }
}
