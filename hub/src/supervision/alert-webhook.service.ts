import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Alert } from '../contract.js';
import { HubConfig } from '../config/hub-config.js';
import { DomainEvents } from '../common/domain-events.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';

/** Alerts waiting to be sent; past it the oldest goes (counted), so a dead receiver costs bounded memory. */
const MAX_QUEUED = 1000;
const TIMEOUT_MS = 5000;
/** Tries per alert: about 4 minutes of a receiver being away, with the pauses below. */
const MAX_ATTEMPTS = 8;
const FIRST_PAUSE_MS = 1000;
const MAX_PAUSE_MS = 60_000;

type Outcome = 'sent' | 'retry' | 'refused';

/**
 * PIFLEET_ALERT_WEBHOOK_URL: every alert raised, resolved or acknowledged is POSTed there as
 * the contract's Alert (JSON), one at a time in order. The listener only queues (bounded), so
 * ingest never waits for the receiver; a failure (network, timeout, 5xx, 408, 429) is retried
 * with growing pauses, a 4xx refusal is not. The URL may hold a token: it is never logged.
 */
@Injectable()
export class AlertWebhook implements OnModuleInit, BeforeApplicationShutdown {
  private readonly queue: Alert[] = [];
  private working?: Promise<void>;
  private stopped = false;
  private wake?: () => void;
  private unsubscribe?: () => void;
  private readonly sent;
  private readonly depth;

  constructor(
    private readonly config: HubConfig,
    private readonly events: DomainEvents,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.sent = metrics.counter('pifleet_alert_webhook_total', 'Alert webhook deliveries, by result (sent, failed: a try that will be retried, refused, gave_up, dropped)', ['result']);
    this.depth = metrics.gauge('pifleet_alert_webhook_queue', 'Alerts waiting for the webhook');
  }

  onModuleInit(): void {
    if (!this.config.alertWebhookUrl) return;
    this.unsubscribe = this.events.on('alert.changed', (a) => this.enqueue(a));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    this.wake?.();
    await this.working;
    if (this.queue.length > 0) this.log.warn({ alerts: this.queue.length }, 'alerts not sent to the webhook before shutdown');
  }

  private enqueue(a: Alert): void {
    if (this.queue.length >= MAX_QUEUED) {
      this.queue.shift();
      this.sent.inc({ result: 'dropped' });
    }
    this.queue.push(a);
    this.depth.set(this.queue.length);
    this.working ??= this.drain().finally(() => (this.working = undefined));
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0 && !this.stopped) {
      const alert = this.queue[0]!;
      let outcome: Outcome = 'retry';
      for (let attempt = 1; attempt <= MAX_ATTEMPTS && !this.stopped; attempt++) {
        outcome = await this.post(alert);
        if (outcome !== 'retry') break;
        this.sent.inc({ result: 'failed' });
        if (attempt < MAX_ATTEMPTS) await this.pause(Math.min(MAX_PAUSE_MS, FIRST_PAUSE_MS * 2 ** (attempt - 1)));
      }
      if (this.stopped) return;
      if (outcome === 'retry') {
        this.sent.inc({ result: 'gave_up' });
        this.log.warn({ alert: alert.id, attempts: MAX_ATTEMPTS }, 'alert webhook unreachable; alert not delivered');
      } else {
        this.sent.inc({ result: outcome });
      }
      this.queue.shift();
      this.depth.set(this.queue.length);
    }
  }

  private async post(alert: Alert): Promise<Outcome> {
    try {
      const res = await fetch(this.config.alertWebhookUrl!, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'user-agent': 'pifleet-hub' },
        body: JSON.stringify(alert),
        redirect: 'manual',
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      await res.body?.cancel().catch(() => undefined);
      if (res.status >= 200 && res.status < 300) return 'sent';
      if (res.status >= 500 || res.status === 408 || res.status === 429) return 'retry';
      this.log.warn({ alert: alert.id, status: res.status }, 'alert webhook refused the alert; not retried');
      return 'refused';
    } catch (err) {
      this.log.debug({ err: (err as Error).message, alert: alert.id }, 'alert webhook not reached; will retry');
      return 'retry';
    }
  }

  /** A pause that shutdown cuts short. */
  private pause(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wake = done;
    });
  }
}
