import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { StatusMessageSchema, allDevices, decodePayload, parseDeviceTopic, type StatusMessage } from '@pifleet/protocol';
import { HubConfig } from '../config/hub-config.js';
import { DomainEvents } from '../common/domain-events.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { DeviceLimits } from '../ingest/device-limits.service.js';
import { IngestDrops } from '../ingest/ingest-drops.service.js';
import { retryDelayMs, writeIsolating } from '../ingest/isolating-write.js';
import { sqlState } from '../db/errors.js';
import { PresenceRepository } from './presence.repository.js';

/** Devices with a status waiting to be written; one entry per device, so the bound is the fleet size. */
const MAX_PENDING = 100_000;
/**
 * Statuses of new devices waiting for room while MAX_PENDING devices are pending. The MQTT link
 * hands over one message at a time and waits for it, so more pile up only through its ack
 * timeout; past this bound one is dropped and counted (`overload`).
 */
const MAX_WAITING = 1000;
const MAX_TOUCHED = 100_000;
const TOUCH_FLUSH_MS = 5000;
const GAUGE_REFRESH_MS = 30_000;

/**
 * Presence from the retained `pifleet/v1/dev/+/status` messages (and Wills). Messages are
 * coalesced per device (keeping the newest session) and written by one worker, so a reconnect
 * storm costs at most one pending write per device instead of an unbounded queue.
 */
@Injectable()
export class PresenceService implements OnModuleInit, BeforeApplicationShutdown {
  private readonly pending = new Map<string, StatusMessage>();
  private readonly touched = new Set<string>();
  /** FIFO of statuses waiting for `pending` to have room; woken as the worker writes. */
  private readonly roomWaiters: (() => void)[] = [];
  private working?: Promise<void>;
  private timers: NodeJS.Timeout[] = [];
  private retry?: NodeJS.Timeout;
  /** Consecutive failed writes: the pause before the next try grows with them (database away). */
  private failures = 0;
  private readonly ignored;
  private readonly onlineGauge;

  constructor(
    private readonly config: HubConfig,
    private readonly repo: PresenceRepository,
    private readonly link: MqttLink,
    private readonly events: DomainEvents,
    private readonly limits: DeviceLimits,
    private readonly drops: IngestDrops,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.ignored = metrics.counter('pifleet_presence_ignored_total', 'Status messages not applied', ['reason']);
    this.onlineGauge = metrics.gauge('pifleet_devices_online', 'Devices currently online');
  }

  async onModuleInit(): Promise<void> {
    if (this.config.embeddedBroker) {
      // A fresh embedded broker has no sessions: whoever was online before the restart is not now.
      for (const deviceId of await this.repo.markAllOffline()) this.events.emit('device.changed', { deviceId });
    }
    await this.refreshGauge();
    this.link.subscribe(allDevices('status'), (topic, payload) => this.onStatus(topic, payload), { qos: 1 });
    this.timers.push(setInterval(() => void this.flushTouched(), TOUCH_FLUSH_MS));
    this.timers.push(setInterval(() => void this.refreshGauge(), GAUGE_REFRESH_MS));
  }

  async beforeApplicationShutdown(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    clearTimeout(this.retry);
    await this.working;
    await this.flushTouched();
  }

  /** Telemetry seen from a device: refresh its last-seen time in the next batch. */
  seen(deviceId: string): void {
    if (this.touched.size < MAX_TOUCHED) this.touched.add(deviceId);
  }

  /** Resolves when every status received so far has been written (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  /**
   * Resolves once the status is pending (or was ignored or dropped and counted). With MAX_PENDING
   * devices already pending it waits for the worker to write some: the MQTT acknowledgement waits
   * with it, so a full queue is backpressure instead of a lost status.
   */
  async onStatus(topic: string, payload: Buffer): Promise<void> {
    const parsed = parseDeviceTopic(topic);
    if (!parsed) return void this.drops.record('presence', 'topic', undefined);
    const deviceId = parsed.deviceId;
    // An empty retained payload is a "clear retained" marker, not a status.
    if (payload.length === 0) return;
    const r = decodePayload(StatusMessageSchema, payload);
    // A device's rate is checked after decoding so that its Last Will (offline, sent by the broker
    // once per connection) is always applied: presence must stay honest even for a noisy device.
    const limited = !r.ok || r.value.state === 'online';
    if (limited && !this.limits.admit(deviceId, 'presence', payload.length)) return;
    if (!r.ok) return void this.drops.record('presence', r.error, deviceId, 1, r.detail);
    while (!this.pending.has(deviceId) && this.pending.size >= MAX_PENDING) {
      if (this.roomWaiters.length >= MAX_WAITING) return void this.drops.record('presence', 'overload', deviceId);
      await new Promise<void>((resolve) => this.roomWaiters.push(resolve));
    }
    const prev = this.pending.get(deviceId);
    // Keep the newest session; for the same session the later message wins (online -> offline).
    if (prev && prev.session > r.value.session) return void this.ignored.inc({ reason: 'stale' });
    this.pending.set(deviceId, r.value);
    this.kick();
  }

  private kick(): void {
    if (this.retry) return; // a retry is scheduled; it will drain everything pending
    this.working ??= this.drain().finally(() => (this.working = undefined));
  }

  private async drain(): Promise<void> {
    let changed = false;
    while (this.pending.size > 0) {
      const [deviceId, msg] = this.pending.entries().next().value as [string, StatusMessage];
      this.pending.delete(deviceId);
      let result: Awaited<ReturnType<PresenceRepository['apply']>> | undefined;
      // The database may refuse this status itself (not a passing outage): it is dropped and
      // counted, and the worker goes on with the other devices instead of retrying it forever.
      const w = await writeIsolating(
        [msg],
        async ([m]) => (result = await this.repo.apply(deviceId, m!)),
        (_m, err) => this.drops.record('presence', 'db_rejected', deviceId, 1, sqlState(err)),
      );
      if (w.unwritten) {
        // The status is not lost: it goes back (unless a newer one came meanwhile) and the worker
        // retries after a growing pause, so an outage delays presence but never drops it.
        if (!this.pending.has(deviceId)) this.pending.set(deviceId, msg);
        this.failures++;
        const delay = retryDelayMs(this.failures);
        this.log.warn({ err: w.error, deviceId, pending: this.pending.size, retryInMs: delay }, 'presence update failed; will retry');
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.kick();
        }, delay);
        break;
      }
      this.failures = 0;
      this.wakeWaiters();
      if (result === 'applied') {
        changed = true;
        this.events.emit('device.changed', { deviceId });
      } else if (result) {
        this.ignored.inc({ reason: result });
      }
    }
    // Not awaited: a status arriving during that query must find `working` already cleared.
    if (changed) void this.refreshGauge();
  }

  /** Room is made only by a write that succeeded: a failed one puts its status back. */
  private wakeWaiters(): void {
    let room = MAX_PENDING - this.pending.size;
    while (room-- > 0 && this.roomWaiters.length > 0) this.roomWaiters.shift()!();
  }

  private async flushTouched(): Promise<void> {
    if (this.touched.size === 0) return;
    const ids = [...this.touched];
    this.touched.clear();
    try {
      await this.repo.touch(ids, new Date());
    } catch (err) {
      for (const id of ids) this.seen(id); // tried again at the next flush
      this.log.warn({ err }, 'last-seen refresh failed; will retry');
    }
  }

  private async refreshGauge(): Promise<void> {
    try {
      this.onlineGauge.set(await this.repo.countOnline());
    } catch {
      // DB briefly unavailable: the next refresh catches up.
    }
  }
}
