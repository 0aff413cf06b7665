import { type BeforeApplicationShutdown, Inject, Injectable, type OnModuleInit } from '@nestjs/common';
import type { Logger } from 'pino';
import { MAX_PAYLOAD_BYTES, envelope, leafTopic, type StateDesiredMessage } from '@pifleet/protocol';
import { MqttLink } from '../broker/mqtt-link.js';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import type { DesiredBody } from './desired-compute.js';
import { DesiredRepository } from './desired.repository.js';

/** Longest a caller waits for the broker to take one message; past it the publish is retried later. */
const PUBLISH_WAIT_MS = 5000;
const RETRY_EVERY_MS = 5000;
/** Publishes in flight at once when many devices changed together (a fleet-wide release). */
const CONCURRENCY = 16;
/** Devices remembered for a retry; one entry per device, so the bound is the fleet size. */
const MAX_RETRY = 100_000;

/**
 * Sends desired states to devices: retained, QoS 1, on `.../state/desired`. A publish the
 * broker did not take (link down, slow) is remembered per device and retried from the stored
 * state, so a device is never left with an old state because one publish was lost. Versions a
 * process published are remembered so that a slower, older publish never follows a newer one.
 */
@Injectable()
export class DesiredPublisher implements OnModuleInit, BeforeApplicationShutdown {
  private readonly published = new Map<string, number>();
  private readonly retry = new Set<string>();
  private timer?: NodeJS.Timeout;
  private retrying?: Promise<void>;
  private readonly sent;
  private readonly failed;

  constructor(
    private readonly link: MqttLink,
    private readonly repo: DesiredRepository,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.sent = metrics.counter('pifleet_desired_published_total', 'Desired states sent to devices');
    this.failed = metrics.counter('pifleet_desired_publish_failures_total', 'Desired states not sent, by reason', ['reason']);
  }

  onModuleInit(): void {
    this.timer = setInterval(() => {
      if (this.retry.size > 0 && this.link.isConnected()) this.retrying ??= this.retryNow().finally(() => (this.retrying = undefined));
    }, RETRY_EVERY_MS);
    this.timer.unref();
  }

  async beforeApplicationShutdown(): Promise<void> {
    clearInterval(this.timer);
    await this.retrying;
  }

  /** Sends one state; never rejects (a failure is counted and retried). */
  async publish(deviceId: string, version: number, state: DesiredBody): Promise<void> {
    if ((this.published.get(deviceId) ?? 0) > version) return;
    const msg: StateDesiredMessage = { ...envelope('state-desired'), version, apps: state.apps, controls: state.controls };
    const payload = JSON.stringify(msg);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      // Applies refuse states this large; one can only come from data that grew afterwards.
      this.failed.inc({ reason: 'too_large' });
      this.log.error({ deviceId, version, bytes: Buffer.byteLength(payload) }, 'desired state too large to send');
      return;
    }
    this.published.set(deviceId, version);
    let timer: NodeJS.Timeout | undefined;
    try {
      if (!this.link.isConnected()) throw new Error('MQTT link not connected');
      await Promise.race([
        this.link.publish(leafTopic(deviceId, 'state/desired'), payload, { qos: 1, retain: true }),
        new Promise((_, reject) => (timer = setTimeout(() => reject(new Error('broker did not acknowledge in time')), PUBLISH_WAIT_MS))),
      ]);
      this.sent.inc();
      this.retry.delete(deviceId);
    } catch (err) {
      this.failed.inc({ reason: 'broker' });
      this.log.warn({ err: (err as Error).message, deviceId, version }, 'desired state not sent; will retry');
      if (this.retry.size < MAX_RETRY) this.retry.add(deviceId);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Sends several states, a few at a time. */
  async publishAll(states: { deviceId: string; version: number; state: DesiredBody }[]): Promise<void> {
    let next = 0;
    const worker = async () => {
      while (next < states.length) {
        const s = states[next++]!;
        await this.publish(s.deviceId, s.version, s.state);
      }
    };
    await Promise.all(Array.from({ length: Math.min(CONCURRENCY, states.length) }, worker));
  }

  /** Sends the stored states of these devices (the active ones that have one). */
  async publishStored(ids: string[]): Promise<void> {
    const active = new Set((await this.repo.presence(ids)).filter((p) => p.status === 'active').map((p) => p.id));
    const stored = await this.repo.stored(this.repo.db, [...active]);
    await this.publishAll([...stored].map(([deviceId, s]) => ({ deviceId, version: s.version, state: s.state })));
  }

  forget(deviceId: string): void {
    this.published.delete(deviceId);
    this.retry.delete(deviceId);
  }

  private async retryNow(): Promise<void> {
    const ids = [...this.retry];
    this.retry.clear();
    try {
      await this.publishStored(ids);
    } catch (err) {
      for (const id of ids) if (this.retry.size < MAX_RETRY) this.retry.add(id);
      this.log.warn({ err }, 'desired state retry failed; will try again');
    }
  }
}
