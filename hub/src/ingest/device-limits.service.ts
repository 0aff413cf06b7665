import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { deviceTopic, envelope, type ThrottledMessage } from '@pifleet/protocol';
import { HubConfig } from '../config/hub-config.js';
import { DomainEvents } from '../common/domain-events.js';
import { LOGGER } from '../common/tokens.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { DeviceBudget } from './token-bucket.js';
import { IngestDrops, type IngestStream } from './ingest-drops.service.js';

/** Bursts: a device back from 6 h offline sends ~2,200 buffered samples in a few messages at once. */
const MIN_MESSAGE_BURST = 120;
const MIN_BYTES_BURST = 4 * 1024 * 1024;
const MIN_ROWS_BURST = 5000;
const SWEEP_MS = 60_000;
/** A throttled device is told at most this often. */
const NOTICE_EVERY_MS = 10_000;

type Reason = ThrottledMessage['reason'];

/**
 * Per-device limits, applied by every ingest path before it parses, buffers or writes anything:
 * messages and bytes per device (all streams together), telemetry rows per device. Excess is
 * dropped and counted (reason `rate_messages`, `rate_bytes`, `rate_rows`), and the device is told
 * on its `throttled` topic so that the agent holds its data back instead of losing more. Other
 * devices are unaffected: each has its own buckets.
 */
@Injectable()
export class DeviceLimits implements OnModuleInit, BeforeApplicationShutdown {
  private readonly messages?: DeviceBudget;
  private readonly bytes?: DeviceBudget;
  private readonly rows?: DeviceBudget;
  private readonly noticed = new Map<string, number>();
  private timer?: NodeJS.Timeout;
  private readonly unsubscribe: () => void;

  constructor(
    config: HubConfig,
    private readonly link: MqttLink,
    private readonly drops: IngestDrops,
    events: DomainEvents,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    // A revoked device starts from full buckets if it is ever enrolled again.
    this.unsubscribe = events.on('device.revoked', ({ deviceId }) => this.forget(deviceId));
    const l = config.deviceLimits;
    if (!l) return;
    const budget = (perMin: number, minBurst: number) => (perMin > 0 ? new DeviceBudget(Math.max(perMin, minBurst), perMin / 60) : undefined);
    this.messages = budget(l.messagesPerMin, MIN_MESSAGE_BURST);
    this.bytes = budget(l.kibPerMin * 1024, MIN_BYTES_BURST);
    this.rows = budget(l.telemetryRowsPerMin, MIN_ROWS_BURST);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => this.sweep(), SWEEP_MS);
  }

  beforeApplicationShutdown(): void {
    clearInterval(this.timer);
    this.unsubscribe();
  }

  /** One message of `size` bytes from the device on `stream`: false (counted, device told) when over its limits. */
  admit(deviceId: string, stream: IngestStream, size: number): boolean {
    if (this.messages && !this.messages.take(deviceId, 1)) return this.refuse(deviceId, stream, 'messages', this.messages.waitMs(deviceId, 1), 1);
    if (this.bytes && !this.bytes.take(deviceId, size)) return this.refuse(deviceId, stream, 'bytes', this.bytes.waitMs(deviceId, size), 1);
    return true;
  }

  /** `n` telemetry rows from the device: false (all n dropped, counted, device told) when over its row budget. */
  admitRows(deviceId: string, n: number): boolean {
    if (!this.rows || this.rows.take(deviceId, n)) return true;
    return this.refuse(deviceId, 'telemetry', 'rows', this.rows.waitMs(deviceId, n), n);
  }

  private forget(deviceId: string): void {
    for (const b of [this.messages, this.bytes, this.rows]) b?.forget(deviceId);
    this.noticed.delete(deviceId);
  }

  private refuse(deviceId: string, stream: IngestStream, reason: Reason, waitMs: number, items: number): false {
    this.drops.record(stream, `rate_${reason}`, deviceId, items);
    const now = Date.now();
    const last = this.noticed.get(deviceId);
    if (last === undefined || now - last >= NOTICE_EVERY_MS) {
      this.noticed.set(deviceId, now);
      const msg: ThrottledMessage = { ...envelope('throttled'), reason, retryAfterMs: Math.min(3600_000, Math.max(1000, Number.isFinite(waitMs) ? waitMs : 60_000)) };
      this.link.publish(deviceTopic(deviceId, 'throttled'), JSON.stringify(msg), { qos: 0 }).catch((err: unknown) => {
        this.log.debug({ err, deviceId }, 'throttled notice not sent');
      });
    }
    return false;
  }

  private sweep(): void {
    const now = Date.now();
    for (const b of [this.messages, this.bytes, this.rows]) b?.sweep(now);
    for (const [id, at] of this.noticed) if (now - at >= NOTICE_EVERY_MS) this.noticed.delete(id);
  }
}
