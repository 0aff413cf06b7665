import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Alert, Device, DeviceContainers, TelemetryUpdate } from '../contract.js';
import { DomainEvents } from '../common/domain-events.js';
import { LOGGER } from '../common/tokens.js';
import { DevicesService } from './devices.service.js';

/** Changes are batched for this long: at most one send per device per window. */
export const COALESCE_MS = 250;
const LOAD_CHUNK = 1000;

export interface FeedBatch {
  devices?: Device[];
  telemetry?: TelemetryUpdate[];
  containers?: DeviceContainers[];
  alerts?: Alert[];
}
export type FeedListener = (batch: FeedBatch) => void;

/**
 * One shared source for every live stream. Row changes (`device.changed`) are coalesced into one
 * DB read per window, however many dashboards are open; telemetry (`telemetry.stored`) carries
 * its point and is passed on from memory, latest per device per window, without touching the
 * database. Both pending sets hold one entry per device, so they are bounded by the fleet.
 */
@Injectable()
export class DeviceFeedService implements OnModuleDestroy {
  private readonly listeners = new Set<FeedListener>();
  private readonly dirty = new Set<string>();
  private readonly telemetry = new Map<string, TelemetryUpdate>();
  /** Containers per device and alerts per id, passed on from memory like telemetry (latest wins). */
  private readonly containers = new Map<string, DeviceContainers>();
  private readonly alerts = new Map<string, Alert>();
  private unsubscribe: (() => void)[] = [];
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    private readonly events: DomainEvents,
    private readonly devices: DevicesService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Starts delivering changes to `listener`; the returned function stops it. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    if (this.unsubscribe.length === 0) {
      this.unsubscribe = [
        this.events.on('device.changed', ({ deviceId }) => this.mark(deviceId)),
        this.events.on('telemetry.stored', ({ deviceId, point, receivedAt }) => {
          this.telemetry.set(deviceId, { deviceId, point, receivedAt: receivedAt.toISOString() });
          this.schedule();
        }),
        this.events.on('containers.changed', (c) => {
          this.containers.set(c.deviceId, c);
          this.schedule();
        }),
        this.events.on('alert.changed', (a) => {
          this.alerts.set(a.id, a);
          this.schedule();
        }),
      ];
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stop();
    };
  }

  onModuleDestroy(): void {
    this.listeners.clear();
    this.stop();
  }

  private mark(id: string): void {
    this.dirty.add(id);
    this.schedule();
  }

  private schedule(): void {
    this.timer ??= setTimeout(() => void this.flush(), COALESCE_MS);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    if (this.telemetry.size > 0) {
      const telemetry = [...this.telemetry.values()];
      this.telemetry.clear();
      for (const l of this.listeners) l({ telemetry });
    }
    if (this.containers.size > 0 || this.alerts.size > 0) {
      const batch = { containers: [...this.containers.values()], alerts: [...this.alerts.values()] };
      this.containers.clear();
      this.alerts.clear();
      for (const l of this.listeners) l(batch);
    }
    if (this.flushing || this.dirty.size === 0) return;
    this.flushing = true;
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      for (let i = 0; i < ids.length; i += LOAD_CHUNK) {
        const devices = await this.devices.byIds(ids.slice(i, i + LOAD_CHUNK));
        for (const l of this.listeners) l({ devices });
      }
    } catch (err) {
      this.log.warn({ err }, 'device feed: could not load changed devices; they will be sent on their next change');
    } finally {
      this.flushing = false;
      if (this.dirty.size > 0 && this.listeners.size > 0) this.schedule();
    }
  }

  private stop(): void {
    for (const u of this.unsubscribe) u();
    this.unsubscribe = [];
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
    this.telemetry.clear();
    this.containers.clear();
    this.alerts.clear();
  }
}
