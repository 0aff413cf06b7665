import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Device } from '../contract.js';
import { DeviceEvents } from '../common/device-events.js';
import { LOGGER } from '../common/tokens.js';
import { DevicesService } from './devices.service.js';

/** Changes are batched for this long: at most one send per device per window. */
export const COALESCE_MS = 250;
const LOAD_CHUNK = 1000;

export type FeedListener = (devices: Device[]) => void;

/**
 * One shared reader between DeviceEvents and every live stream: a burst of changes (a reconnect
 * storm, a bulk retag) becomes one DB read per window, however many dashboards are open.
 * The dirty set holds ids only, so it is bounded by the number of devices.
 */
@Injectable()
export class DeviceFeedService implements OnModuleDestroy {
  private readonly listeners = new Set<FeedListener>();
  private readonly dirty = new Set<string>();
  private unsubscribe: (() => void) | undefined;
  private timer: NodeJS.Timeout | undefined;
  private flushing = false;

  constructor(
    private readonly events: DeviceEvents,
    private readonly devices: DevicesService,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  /** Starts delivering changes to `listener`; the returned function stops it. */
  subscribe(listener: FeedListener): () => void {
    this.listeners.add(listener);
    this.unsubscribe ??= this.events.onChanged((id) => this.mark(id));
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
    this.timer ??= setTimeout(() => void this.flush(), COALESCE_MS);
  }

  private async flush(): Promise<void> {
    this.timer = undefined;
    if (this.flushing || this.dirty.size === 0) return;
    this.flushing = true;
    const ids = [...this.dirty];
    this.dirty.clear();
    try {
      for (let i = 0; i < ids.length; i += LOAD_CHUNK) {
        const batch = await this.devices.byIds(ids.slice(i, i + LOAD_CHUNK));
        for (const l of this.listeners) l(batch);
      }
    } catch (err) {
      this.log.warn({ err }, 'device feed: could not load changed devices; they will be sent on their next change');
    } finally {
      this.flushing = false;
      if (this.dirty.size > 0 && this.listeners.size > 0) this.timer ??= setTimeout(() => void this.flush(), COALESCE_MS);
    }
  }

  private stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.dirty.clear();
  }
}
