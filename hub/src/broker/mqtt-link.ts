import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import mqtt, { type IClientOptions, type IClientPublishOptions, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { HUB_STATUS_TOPIC, envelope, type HubStatusMessage } from '@pifleet/protocol';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { BrokerInfo } from './broker-info.js';
import { topicMatches } from './topic-match.js';

export type MessageHandler = (topic: string, payload: Buffer) => void | Promise<void>;

const CONNECT_WAIT_MS = 10_000;
const CLOSE_WAIT_MS = 3000;

function hubStatus(state: 'online' | 'offline'): string {
  const msg: HubStatusMessage = { ...envelope('hub-status'), state };
  return JSON.stringify(msg);
}

/**
 * The hub's own MQTT client (plain mqtt.js behind this adapter). Announces the hub on the
 * retained `pifleet/v1/hub/status` with a Last Will for crashes, re-subscribes every registered
 * filter on each (re)connect, and dispatches messages by topic filter. Handler failures are
 * counted and logged, never thrown into the client's loop.
 */
@Injectable()
export class MqttLink implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private client?: MqttClient;
  private readonly handlers: { filter: string; qos: 0 | 1; handler: MessageHandler }[] = [];
  private readonly handlerErrors;
  private readonly connectedGauge;

  constructor(
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
    private readonly broker: BrokerInfo,
  ) {
    this.handlerErrors = metrics.counter('pifleet_mqtt_handler_errors_total', 'MQTT messages whose handler failed', ['filter']);
    this.connectedGauge = metrics.gauge('pifleet_mqtt_connected', '1 while the hub is connected to the broker');
  }

  async onModuleInit(): Promise<void> {
    await this.broker.start();
  }

  /**
   * Connects once every module has registered its handlers (their onModuleInit ran): with a
   * persistent session the broker delivers queued messages right after CONNACK, and one that
   * found no handler would be acknowledged and lost.
   */
  async onApplicationBootstrap(): Promise<void> {
    const conn = this.broker.hubConnection();
    const opts: IClientOptions = {
      username: conn.username,
      password: conn.password,
      clientId: conn.clientId,
      clean: !conn.persistentSession,
      // We re-subscribe ourselves on every connect (below), from the registered handlers.
      resubscribe: false,
      reconnectPeriod: 1000,
      connectTimeout: 10_000,
      keepalive: 30,
      will: { topic: HUB_STATUS_TOPIC, payload: Buffer.from(hubStatus('offline')), qos: 1, retain: true },
    };
    // The embedded broker is reached in-process; mqtt.js calls the builder again on each reconnect.
    const stream = conn.stream;
    const client = stream ? new MqttClient(() => stream(), opts) : mqtt.connect(conn.url, opts);
    this.client = client;
    client.on('connect', () => {
      this.connectedGauge.set(1);
      this.log.info({ url: conn.url }, 'hub connected to MQTT broker');
      client.publish(HUB_STATUS_TOPIC, hubStatus('online'), { qos: 1, retain: true });
      for (const h of this.handlers) this.subscribeNow(h.filter, h.qos);
    });
    client.on('close', () => this.connectedGauge.set(0));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'hub MQTT client error'));
    client.on('message', (topic, payload) => this.dispatch(topic, payload));
    // Boot waits a bounded time for the broker; past that the client keeps retrying on its own.
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, CONNECT_WAIT_MS);
      client.once('connect', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  isConnected(): boolean {
    return this.client?.connected ?? false;
  }

  /** Registers a handler; subscribes now if connected and again after every reconnect. */
  subscribe(filter: string, handler: MessageHandler, opts: { qos?: 0 | 1 } = {}): void {
    const qos = opts.qos ?? 1;
    this.handlers.push({ filter, qos, handler });
    if (this.client?.connected) this.subscribeNow(filter, qos);
  }

  async publish(topic: string, payload: string | Buffer, opts: IClientPublishOptions = {}): Promise<void> {
    if (!this.client) throw new Error('MQTT link not started');
    await this.client.publishAsync(topic, payload, opts);
  }

  /** Announce a clean shutdown while the DB and broker are still up. */
  async beforeApplicationShutdown(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    if (!client) return;
    if (client.connected) {
      await Promise.race([
        client.publishAsync(HUB_STATUS_TOPIC, hubStatus('offline'), { qos: 1, retain: true }).catch(() => undefined),
        sleep(CLOSE_WAIT_MS),
      ]);
    }
    await Promise.race([client.endAsync().catch(() => undefined), sleep(CLOSE_WAIT_MS)]);
    client.end(true);
    this.connectedGauge.set(0);
  }

  async onApplicationShutdown(): Promise<void> {
    await this.broker.stop();
  }

  private subscribeNow(filter: string, qos: 0 | 1): void {
    this.client?.subscribe(filter, { qos }, (err, granted) => {
      if (err || granted?.some((g) => g.qos === 128)) this.log.error({ filter, err: err?.message }, 'hub subscription refused');
    });
  }

  private dispatch(topic: string, payload: Buffer): void {
    for (const h of this.handlers) {
      if (!topicMatches(h.filter, topic)) continue;
      try {
        const r = h.handler(topic, payload);
        if (r) r.catch((err: unknown) => this.failed(h.filter, topic, err));
      } catch (err) {
        this.failed(h.filter, topic, err);
      }
    }
  }

  private failed(filter: string, topic: string, err: unknown): void {
    this.handlerErrors.inc({ filter });
    this.log.error({ err, topic }, 'MQTT handler failed');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
