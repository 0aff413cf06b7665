import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { DomainEvents } from '../common/domain-events.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { DesiredPublisher } from './desired-publisher.js';
import { DesiredStateService } from './desired-state.service.js';
import { DesiredRepository } from './desired.repository.js';

/** Devices waiting to be looked at; one entry per device, so the bound is the fleet size. */
const MAX_PENDING = 100_000;
/** Devices handled per round (one recompute per fleet among them). */
const BATCH = 500;
const RETRY_MIN_MS = 1000;
const RETRY_MAX_MS = 30_000;

/**
 * Keeps devices' desired states current as devices change, and sends each device its state when
 * it comes online (a new session), so nothing relies on the broker keeping retained messages.
 * A changed device row (enrollment, a move to another fleet, coming online) is recomputed, and
 * every fleet with apps when an image bundle comes or goes (a spec names the bundle it uses):
 * a recompute stores and publishes only what changed, so a rename costs a computation, not a
 * message. Work is coalesced per device and done by one worker; a failed round (database away)
 * is retried with a growing pause. The sessions remembered here only avoid sending twice per
 * connection; losing them (restart) means one more send, never one less.
 */
@Injectable()
export class DesiredTriggers implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown {
  private readonly pending = new Set<string>();
  /** An image bundle came or went: every fleet with apps is recomputed (bundles are matched by image reference). */
  private allPending = false;
  /** Session of each online device whose state was sent for that session. */
  private readonly sentFor = new Map<string, number>();
  private working?: Promise<void>;
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;
  private readonly unsubscribe: (() => void)[] = [];
  private readonly dropped;

  constructor(
    private readonly events: DomainEvents,
    private readonly desired: DesiredStateService,
    private readonly publisher: DesiredPublisher,
    private readonly repo: DesiredRepository,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.dropped = metrics.counter('pifleet_desired_triggers_dropped_total', 'Device changes not looked at because too many were pending');
  }

  onModuleInit(): void {
    this.unsubscribe.push(this.events.on('device.changed', ({ deviceId }) => this.enqueue(deviceId)));
    this.unsubscribe.push(
      this.events.on('images.changed', () => {
        this.allPending = true;
        this.kick();
      }),
    );
    this.unsubscribe.push(
      this.events.on('device.revoked', ({ deviceId }) => {
        this.sentFor.delete(deviceId);
        this.publisher.forget(deviceId);
      }),
    );
  }

  /**
   * After a restart the hub may have stored a state it never sent (it stopped in between), and
   * with an external broker online devices do not come online again: send every online device
   * its state once. Not awaited: boot does not wait for the fleet.
   */
  onApplicationBootstrap(): void {
    void this.repo
      .onlineActive()
      .then((ids) => ids.forEach((id) => this.enqueue(id)))
      .catch((err: unknown) => this.log.warn({ err }, 'could not list online devices to send their desired state'));
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    clearTimeout(this.retry);
    await this.working;
  }

  /** Resolves when every change seen so far has been handled (tests). */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  private enqueue(deviceId: string): void {
    if (this.stopped) return;
    if (!this.pending.has(deviceId) && this.pending.size >= MAX_PENDING) return void this.dropped.inc();
    this.pending.add(deviceId);
    this.kick();
  }

  private kick(): void {
    if (this.retry || this.stopped) return;
    this.working ??= this.drain().finally(() => (this.working = undefined));
  }

  private async drain(): Promise<void> {
    while ((this.pending.size > 0 || this.allPending) && !this.stopped) {
      const all = this.allPending;
      this.allPending = false;
      const ids = all ? [] : [...this.pending].slice(0, BATCH);
      for (const id of ids) this.pending.delete(id);
      try {
        if (all) await this.desired.recompute({ all: true });
        else await this.handle(ids);
        this.failures = 0;
      } catch (err) {
        if (all) this.allPending = true;
        for (const id of ids) this.pending.add(id);
        this.failures++;
        const delay = Math.min(RETRY_MAX_MS, RETRY_MIN_MS * 2 ** (this.failures - 1));
        this.log.warn({ err, devices: ids.length, retryInMs: delay }, 'desired state update after device changes failed; will retry');
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.kick();
        }, delay);
        this.retry.unref();
        return;
      }
    }
  }

  private async handle(ids: string[]): Promise<void> {
    const rows = await this.repo.presence(ids);
    const known = new Set(rows.map((r) => r.id));
    for (const id of ids) if (!known.has(id)) this.sentFor.delete(id);
    const active = rows.filter((r) => r.status === 'active');
    for (const r of rows) if (r.status !== 'active' || !r.online) this.sentFor.delete(r.id);
    // An offline device that has a state is left until it comes back (it cannot receive it now).
    const recompute = active.filter((r) => r.online || !r.hasDesired).map((r) => r.id);
    const published = recompute.length ? await this.desired.recomputeAndPublish(recompute) : new Set<string>();
    const newSession = active.filter((r) => r.online && this.sentFor.get(r.id) !== r.session);
    const unsent = newSession.filter((r) => !published.has(r.id)).map((r) => r.id);
    if (unsent.length) await this.publisher.publishStored(unsent);
    for (const r of newSession) this.sentFor.set(r.id, r.session);
  }
}
