import {
  type BeforeApplicationShutdown,
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  type OnModuleInit,
} from '@nestjs/common';
import mqtt, { type IClientOptions, type IClientPublishOptions, type IPublishPacket, MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import { HUB_STATUS_TOPIC, envelope, type HubStatusMessage } from '@pifleet/protocol';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import { BrokerInfo } from './broker-info.js';
import { topicMatches } from './topic-match.js';

export type MessageHandler = (topic: string, payload: Buffer) => void | Promise<void>;

const CONNECT_WAIT_MS = 10_000;
const CLOSE_WAIT_MS = 3000;
const KEEPALIVE_S = 30;
/**
 * Longest one message may hold its acknowledgement. mqtt.js reads nothing else meanwhile, not
 * even the PINGRESP: it pings after KEEPALIVE_S and drops the connection KEEPALIVE_S / 2 later,
 * so a hold must stay well under that half to never cost a reconnect.
 */
export const ACK_HOLD_MAX_MS = 10_000;

function hubStatus(state: 'online' | 'offline'): string {
  const msg: HubStatusMessage = { ...envelope('hub-status'), state };
  return JSON.stringify(msg);
}

/**
 * The hub's own MQTT client (plain mqtt.js behind this adapter). Announces the hub on the
 * retained `pifleet/v1/hub/status` with a Last Will for crashes, re-subscribes every registered
 * filter on each (re)connect, and dispatches messages by topic filter. Handler failures are
 * counted and logged, never thrown into the client's loop.
 *
 * A message is acknowledged (PUBACK) only once its handlers' promises have settled, so what the
 * hub acknowledged has been taken over by it, and the broker keeps the rest (the external
 * Mosquitto in the hub's persistent session). mqtt.js handles incoming packets strictly one
 * after another, so a handler resolves as soon as the message is accepted (into a bounded
 * buffer) and waits only while that buffer is full: that wait is the backpressure.
 */
@Injectable()
export class MqttLink implements OnModuleInit, OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  private client?: MqttClient;
  private readonly handlers: { filter: string; qos: 0 | 1; handler: MessageHandler }[] = [];
  private readonly handlerErrors;
  private readonly ackTimeouts;
  private readonly connectedGauge;
  /** Topics as mqtt.js resolved them (MQTT 5 topic aliases), from its 'message' event to handleMessage. */
  private readonly topics = new WeakMap<IPublishPacket, string>();

  constructor(
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
    private readonly broker: BrokerInfo,
  ) {
    this.handlerErrors = metrics.counter('pifleet_mqtt_handler_errors_total', 'MQTT messages whose handler failed', ['filter']);
    this.ackTimeouts = metrics.counter(
      'pifleet_mqtt_ack_timeouts_total',
      'MQTT messages acknowledged before their handler finished, after holding the ack the longest allowed',
      ['filter'],
    );
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
      keepalive: KEEPALIVE_S,
      will: { topic: HUB_STATUS_TOPIC, payload: Buffer.from(hubStatus('offline')), qos: 1, retain: true },
    };
    // The embedded broker is reached in-process; mqtt.js calls the builder again on each reconnect.
    const stream = conn.stream;
    const client = stream ? new MqttClient(() => stream(), opts) : mqtt.connect(conn.url, opts);
    this.client = client;
    // mqtt.js sends the PUBACK (QoS 1) when this callback is called, and handles no further
    // packet before: the handlers run here, not on 'message', so that the ack follows them.
    client.handleMessage = (packet, callback) => {
      this.dispatch(this.topics.get(packet) ?? packet.topic.toString(), packet.payload as Buffer).then(
        () => callback(),
        () => callback(),
      );
    };
    client.on('connect', () => {
      this.connectedGauge.set(1);
      this.log.info({ url: conn.url }, 'hub connected to MQTT broker');
      client.publish(HUB_STATUS_TOPIC, hubStatus('online'), { qos: 1, retain: true });
      for (const h of this.handlers) this.subscribeNow(h.filter, h.qos);
    });
    client.on('close', () => this.connectedGauge.set(0));
    client.on('error', (err) => this.log.warn({ err: err.message }, 'hub MQTT client error'));
    client.on('message', (topic, _payload, packet) => this.topics.set(packet, topic));
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

  /**
   * Runs every matching handler and settles when all of them have (never rejects). Past
   * ACK_HOLD_MAX_MS it settles anyway, counted: the link must never wedge on one message. A
   * failing handler is counted and its message acknowledged too, so a poison message cannot
   * block the session forever; a handler asks for time only by not resolving yet.
   */
  private async dispatch(topic: string, payload: Buffer): Promise<void> {
    const running: { filter: string; done: Promise<void> }[] = [];
    for (const h of this.handlers) {
      if (!topicMatches(h.filter, topic)) continue;
      try {
        const r = h.handler(topic, payload);
        if (r) running.push({ filter: h.filter, done: r.catch((err: unknown) => this.failed(h.filter, topic, err)) });
      } catch (err) {
        this.failed(h.filter, topic, err);
      }
    }
    if (running.length === 0) return;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<true>((resolve) => {
      timer = setTimeout(() => resolve(true), ACK_HOLD_MAX_MS);
      timer.unref();
    });
    const pending = new Set(running);
    for (const r of running) void r.done.then(() => pending.delete(r));
    const late = await Promise.race([Promise.all(running.map((r) => r.done)).then(() => false), timedOut]);
    clearTimeout(timer);
    if (!late) return;
    for (const r of pending) this.ackTimeouts.inc({ filter: r.filter });
    this.log.warn({ topic, waitedMs: ACK_HOLD_MAX_MS }, 'MQTT handler still busy; message acknowledged anyway');
  }

  private failed(filter: string, topic: string, err: unknown): void {
    this.handlerErrors.inc({ filter });
    this.log.error({ err, topic }, 'MQTT handler failed');
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms).unref());
}
