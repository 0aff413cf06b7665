import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { AlertsRepository } from './alerts.repository.js';
import { ServiceEventsRepository } from './service-events.repository.js';

/** Restart history is kept this long... */
export const EVENTS_RETENTION_MS = 30 * 24 * 3600_000;
/** ...and at most this many events per service (a crash loop of a week must not fill the disk). */
export const EVENTS_PER_SERVICE = 1000;
/** Resolved alerts are kept this long (open ones stay while open). */
export const RESOLVED_ALERTS_RETENTION_MS = 90 * 24 * 3600_000;
const RUN_EVERY_MS = 10 * 60_000;
/** Services remembered as grown between runs; past it the next run trims every service in one pass. */
const MAX_GROWN = 100_000;

/**
 * Retention of service_events (30 days, and the newest EVENTS_PER_SERVICE per service) and of
 * resolved alerts, in the style of the telemetry retention: a periodic job whose failure (the
 * database away) is logged and counted and tried at the next run. The per-service cap only
 * looks at services that received events since the last run, so a run costs little when
 * most services are quiet.
 */
@Injectable()
export class EventsRetention implements OnModuleInit, BeforeApplicationShutdown {
  private grown = new Set<string>();
  private overflow = false;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private readonly errors;
  private readonly deleted;

  constructor(
    private readonly events: ServiceEventsRepository,
    private readonly alerts: AlertsRepository,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.errors = metrics.counter('pifleet_supervision_write_errors_total', 'Failed supervision writes (kept for retry)', ['op']);
    this.deleted = metrics.counter('pifleet_supervision_events_expired_total', 'Supervision events deleted by retention');
  }

  onModuleInit(): void {
    // The first run trims everything: what grew before a restart is not remembered.
    this.overflow = true;
    this.timer = setInterval(() => void this.run(), RUN_EVERY_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.running;
  }

  /** A service received events: its cap is checked at the next run. */
  grew(deviceId: string, app: string, service: string): void {
    if (this.grown.size >= MAX_GROWN) this.overflow = true;
    else this.grown.add(`${deviceId}\t${app}\t${service}`);
  }

  run(now = new Date()): Promise<void> {
    this.running ??= this.runOnce(now).finally(() => (this.running = undefined));
    return this.running;
  }

  private async runOnce(now: Date): Promise<void> {
    const grown = this.grown;
    const overflow = this.overflow;
    this.grown = new Set();
    this.overflow = false;
    try {
      let n = await this.events.deleteOlder(new Date(now.getTime() - EVENTS_RETENTION_MS));
      if (overflow) {
        n += await this.events.trimAll(EVENTS_PER_SERVICE);
      } else {
        for (const key of grown) {
          const [deviceId, app, service] = key.split('\t') as [string, string, string];
          n += await this.events.trim(deviceId, app, service, EVENTS_PER_SERVICE);
          grown.delete(key);
        }
      }
      this.deleted.inc(n);
      await this.alerts.deleteResolvedBefore(new Date(now.getTime() - RESOLVED_ALERTS_RETENTION_MS));
    } catch (err) {
      // What was not trimmed is tried again at the next run.
      if (overflow) this.overflow = true;
      for (const key of grown) this.grew(...(key.split('\t') as [string, string, string]));
      this.errors.inc({ op: 'retention' });
      this.log.warn({ err }, 'supervision retention failed; will retry');
    }
  }
}
