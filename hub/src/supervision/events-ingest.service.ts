import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { EVENT_KINDS, SupervisionEventDataSchema, decodeLeaf, hubSubscription, matchLeaf, storableText } from '@pifleet/protocol';
import { HubConfig } from '../config/hub-config.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { sqlState } from '../db/errors.js';
import { DeviceLimits } from '../ingest/device-limits.service.js';
import { IngestDrops } from '../ingest/ingest-drops.service.js';
import { DesiredSide } from './desired-side.js';
import { DeviceGate } from './device-gate.js';
import { EventsRetention } from './events-retention.service.js';
import { ServiceEventsRepository, type EventRow } from './service-events.repository.js';
import { WriteQueue } from './write-queue.js';

/** Events held at once, by payload bytes; past it an event waits for room (its ack with it). */
const QUEUE_BYTES = 32 * 1024 * 1024;
const MAX_WAITERS = 1000;
/** 12 parameters a row keeps one statement far below Postgres' 65,535. */
const BATCH_ROWS = 500;
const PGLITE_BATCH_ROWS = 100;

type QueuedEvent = EventRow & { bytes: number };

/** Devices waiting for their desired state to be sent again; one entry per device. */
const MAX_SYNCS = 100_000;

/**
 * Intake of `evt/{kind}`. `supervision` events are the restart history: stored once per
 * (device, event id), so a QoS 1 redelivery or an event the agent sends again after a reconnect
 * lands once, and stored before they are acknowledged. `sync` asks for the desired state again.
 * Other kinds are not known to this hub: dropped and counted (`unknown_kind`), like invalid
 * payloads, payloads whose kind differs from the topic's, and events of unknown or revoked devices.
 */
@Injectable()
export class EventsIngest implements OnModuleInit, BeforeApplicationShutdown {
  private readonly queue: WriteQueue<QueuedEvent>;
  private readonly syncs = new Set<string>();
  private syncing?: Promise<void>;
  private stopped = false;
  private readonly m;

  constructor(
    config: HubConfig,
    private readonly repo: ServiceEventsRepository,
    private readonly link: MqttLink,
    private readonly limits: DeviceLimits,
    private readonly drops: IngestDrops,
    private readonly gate: DeviceGate,
    private readonly desired: DesiredSide,
    private readonly retention: EventsRetention,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.m = {
      stored: metrics.counter('pifleet_supervision_events_stored_total', 'Supervision events stored'),
      duplicates: metrics.counter('pifleet_supervision_events_duplicate_total', 'Supervision events received again and ignored (already stored)'),
      syncs: metrics.counter('pifleet_supervision_sync_requests_total', 'Desired states sent again because a device asked (evt/sync), by result (coalesced: asked again while pending)', ['result']),
      errors: metrics.counter('pifleet_supervision_write_errors_total', 'Failed supervision writes (kept for retry)', ['op']),
    };
    this.queue = new WriteQueue<QueuedEvent>({
      capacity: QUEUE_BYTES,
      weight: (e) => e.bytes,
      maxWaiters: MAX_WAITERS,
      batchRows: config.databaseUrl ? BATCH_ROWS : PGLITE_BATCH_ROWS,
      key: (e) => `${e.deviceId}\t${e.eventId}`,
      merge: (queued) => {
        this.m.duplicates.inc();
        return queued;
      },
      write: (rows) => this.write(rows),
      onRejected: (row, err) => this.drops.record('events', 'db_rejected', row.deviceId, 1, sqlState(err)),
      onFailed: (err, rows, retryInMs) => {
        this.m.errors.inc({ op: 'events' });
        this.log.warn({ err, rows, retryInMs }, 'supervision event write failed; will retry');
      },
    });
  }

  onModuleInit(): void {
    this.link.subscribe(hubSubscription('evt/+'), (topic, payload) => this.onEvent(topic, payload), { qos: 1 });
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.queue.close();
    await this.queue.flush();
    await this.syncing;
  }

  /** Resolves once the event is stored (or held for a retry, handled, or dropped and counted). */
  async onEvent(topic: string, payload: Buffer): Promise<void> {
    const match = matchLeaf(topic);
    if (match?.leaf !== 'evt/+' || match.param === undefined) return void this.drops.record('events', 'topic', undefined);
    const { deviceId, param: kind } = match;
    if (payload.length === 0) return;
    if (!this.limits.admit(deviceId, 'events', payload.length)) return;
    const r = decodeLeaf('evt/+', payload, kind);
    if (!r.ok) return void this.drops.record('events', r.error, deviceId, 1, r.detail);
    const msg = r.value;
    if (kind !== EVENT_KINDS.supervision && kind !== EVENT_KINDS.sync) return void this.drops.record('events', 'unknown_kind', deviceId, 1, kind);
    // The event id is the dedupe key, stored as text: a NUL or a lone surrogate would be refused there.
    if (storableText(msg.id) !== msg.id) return void this.drops.record('events', 'invalid', deviceId, 1, 'id: unstorable characters');
    let data;
    if (kind === EVENT_KINDS.supervision) {
      const d = SupervisionEventDataSchema.safeParse(msg.data);
      if (!d.success) return void this.drops.record('events', 'invalid', deviceId, 1, d.error.issues[0]?.message);
      data = d.data;
    }
    const verdict = await this.gate.check(deviceId);
    if (verdict === 'unknown' || verdict === 'revoked') return void this.drops.record('events', `${verdict}_device`, deviceId);
    if (!data) return this.requestSync(deviceId);
    const outcome = await this.queue.push({
      deviceId,
      eventId: msg.id,
      seq: msg.seq,
      app: data.app,
      service: data.service,
      fromState: data.from,
      toState: data.to,
      reason: data.reason,
      at: new Date(msg.at),
      exitCode: data.exitCode ?? null,
      data: data as Record<string, unknown>,
      bytes: payload.length,
    });
    if (outcome === 'dropped') this.drops.record('events', 'overload', deviceId);
  }

  /** Resolves when everything received so far is stored (tests, shutdown). */
  flush(): Promise<void> {
    return this.queue.flush();
  }

  /**
   * Sending happens after the message is acknowledged, never inside its handler: the publish
   * waits for the broker's PUBACK, which the hub's client reads only once the handler is done.
   * One pending request per device (a repeated ask joins it), sent by one worker in order.
   */
  private requestSync(deviceId: string): void {
    if (this.syncs.has(deviceId)) return void this.m.syncs.inc({ result: 'coalesced' });
    if (this.syncs.size >= MAX_SYNCS) return void this.drops.record('events', 'overload', deviceId);
    this.syncs.add(deviceId);
    this.kickSyncs();
  }

  private kickSyncs(): void {
    if (this.stopped) return;
    this.syncing ??= this.runSyncs().finally(() => {
      this.syncing = undefined;
      // Asked after the worker's last look: not left waiting for the next ask.
      if (this.syncs.size > 0) this.kickSyncs();
    });
  }

  private async runSyncs(): Promise<void> {
    // Leaves the handler that asked first (see requestSync).
    await new Promise<void>((resolve) => setImmediate(resolve));
    while (this.syncs.size > 0 && !this.stopped) {
      const deviceId = this.syncs.values().next().value!;
      this.syncs.delete(deviceId);
      try {
        await this.desired.publishTo(deviceId);
        this.m.syncs.inc({ result: 'sent' });
      } catch (err) {
        // The agent asks again on its next connection; nothing here fails the message.
        this.m.syncs.inc({ result: 'failed' });
        this.log.warn({ err, deviceId }, 'desired state not sent again after evt/sync');
      }
    }
  }

  private async write(rows: QueuedEvent[]): Promise<void> {
    const inserted = await this.repo.insert(rows.map(({ bytes: _bytes, ...row }) => row));
    this.m.stored.inc(inserted.length);
    this.m.duplicates.inc(rows.length - inserted.length);
    const byKey = new Map(rows.map((r) => [`${r.deviceId}\t${r.eventId}`, r]));
    for (const i of inserted) {
      const r = byKey.get(`${i.deviceId}\t${i.eventId}`);
      if (r) this.retention.grew(r.deviceId, r.app, r.service);
    }
  }
}
