import type { IClientOptions, MqttClient } from 'mqtt';
import { deviceTopic, type DeviceInfo, type HubPublishedLeaf, type HubStatusMessage, type ThrottledMessage } from '@pifleet/protocol';
import type { Identity } from '../identity/identity-store.js';
import type { Logger } from '../log/logger.js';
import { Backoff, sleep } from '../util/backoff.js';
import { TRUST_HINT, untrustedCertCode } from '../util/tls-trust.js';
import { InboundDispatcher, type InboundHandler } from './inbound.js';
import { CREDENTIAL_REFUSED_CODES, offlineStatus, onlineStatus } from './status-payloads.js';

export type ConnectFn = (url: string, opts: IClientOptions) => MqttClient;

export interface MqttLinkOptions {
  identity: Identity;
  info: DeviceInfo;
  keepaliveS: number;
  connect: ConnectFn;
  /** Trusted CAs for an mqtts:// broker (--ca); Node's defaults when absent. */
  ca?: string[];
  nextSession: () => Promise<number>;
  log: Logger;
  backoff: Backoff;
  /** Used after the broker refused the credential; slower, see `run`. */
  refusedBackoff: Backoff;
  onUp?: () => void;
  onHubStatus?: (online: boolean) => void;
}

type AttemptResult = 'closed' | 'refused';
const CLOSE_TIMEOUT_MS = 3000;
const PUBLISH_TIMEOUT_MS = 20_000;

/**
 * The agent's one MQTT connection. mqtt.js' own reconnect is off (`reconnectPeriod: 0`) because
 * its fixed period has no jitter and it would reuse the CONNECT options, i.e. the old Will and
 * session. Each attempt here is a fresh client with a new session number and a matching Will.
 */
export class MqttLink {
  private client: MqttClient | undefined;
  private session = 0;
  private hubUp = true;
  /** Until then the hub asked us (throttled) to hold bulk traffic back. */
  private throttledUntil = 0;
  private loop: Promise<void> | undefined;
  private readonly stop = new AbortController();
  private readonly inbound: InboundDispatcher;

  constructor(private readonly o: MqttLinkOptions) {
    this.inbound = new InboundDispatcher(o.identity.deviceId, o.log);
    this.inbound.subscribe('hub/status', (msg) => this.onHubStatus(msg));
    this.inbound.subscribe('throttled', (msg) => this.onThrottled(msg));
  }

  /**
   * Handles every message of a hub-published leaf, decoded and validated; kept across reconnects.
   * Returns the unsubscribe.
   */
  subscribe<L extends HubPublishedLeaf>(leaf: L, handler: InboundHandler<L>): () => void {
    return this.inbound.subscribe(leaf, handler);
  }

  get connected(): boolean {
    return this.client?.connected === true;
  }

  /**
   * Whether bulk traffic (telemetry) may go now: the last retained hub status (true while
   * unknown, so a hub that never publishes one is not starved), and no throttle notice in force.
   */
  get hubOnline(): boolean {
    return this.hubUp && Date.now() >= this.throttledUntil;
  }

  get currentSession(): number {
    return this.session;
  }

  start(signal: AbortSignal): void {
    signal.addEventListener('abort', () => this.stop.abort(), { once: true });
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const signal = this.stop.signal;
    while (!signal.aborted) {
      const result = await this.attempt(signal);
      if (signal.aborted) break;
      let delay: number;
      if (result === 'refused') {
        // Keep retrying, slowly, rather than exiting: under `--restart unless-stopped` an exit only
        // turns into Docker's own tight restart loop, while a refusal can be transient (hub or
        // broker restarting before its device table is loaded). A revoked device costs one CONNECT
        // every few minutes; the operator sees the error in `docker logs` and re-enrolls.
        delay = this.o.refusedBackoff.next();
        this.o.log.error('device credential refused (revoked?)', { retryInMs: delay });
      } else {
        delay = this.o.backoff.next();
        this.o.log.info('mqtt reconnect scheduled', { retryInMs: delay });
      }
      await sleep(delay, signal);
    }
  }

  private async attempt(signal: AbortSignal): Promise<AttemptResult> {
    const { identity, log } = this.o;
    const session = await this.o.nextSession().catch((e: unknown) => {
      log.error('cannot persist session counter; continuing in memory', { err: e });
      return this.session + 1;
    });
    const statusTopic = deviceTopic(identity.deviceId, 'status');
    const client = this.o.connect(identity.mqtt.url, {
      clientId: identity.mqtt.clientId,
      username: identity.mqtt.username,
      password: identity.mqtt.password,
      clean: true,
      keepalive: this.o.keepaliveS,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      // Telemetry waits in our own bounded ring and is published one batch at a time (awaiting its
      // PUBACK), so mqtt.js never holds more than one in flight and must not keep a queue of its own.
      queueQoSZero: false,
      resubscribe: false,
      will: { topic: statusTopic, payload: Buffer.from(offlineStatus(session)), qos: 1, retain: true },
      ...(this.o.ca ? { ca: this.o.ca } : {}),
    });
    return new Promise<AttemptResult>((resolve) => {
      let refused = false;
      let wasUp = false;
      const onAbort = (): void => {
        // Only an attempt still connecting is cut here; a live one is closed by close() after the
        // final telemetry flush.
        if (!client.connected) client.end(true);
      };
      signal.addEventListener('abort', onAbort, { once: true });
      client.on('connect', () => {
        wasUp = true;
        this.client = client;
        this.session = session;
        this.o.backoff.reset();
        this.o.refusedBackoff.reset();
        log.info('mqtt connected', { url: identity.mqtt.url, session });
        client.publish(statusTopic, onlineStatus(session, this.o.info), { qos: 1, retain: true }, (err) => {
          if (err) log.warn('online status not delivered', { err });
        });
        // Without the hub status (a broker ACL refusing it) hubUp stays true: traffic is never held back.
        this.inbound.attach(client);
        this.o.onUp?.();
      });
      client.on('error', (err: Error & { code?: unknown }) => {
        if (typeof err.code === 'number' && CREDENTIAL_REFUSED_CODES.has(err.code)) refused = true;
        else if (untrustedCertCode(err)) {
          // Kept retrying (the identity is valid), but said plainly: it will not heal by itself.
          log.error(`broker certificate not trusted; ${TRUST_HINT}`, { code: err.code, err: err.message });
        } else log.warn('mqtt error', { err: err.message });
      });
      client.on('close', () => {
        signal.removeEventListener('abort', onAbort);
        if (this.client === client) this.client = undefined;
        this.inbound.detach(client);
        if (wasUp && !signal.aborted) log.warn('mqtt connection lost', { session });
        client.removeAllListeners();
        client.on('error', () => {}); // late socket errors after close must not crash the process
        client.end(true);
        resolve(refused ? 'refused' : 'closed');
      });
    });
  }

  private onHubStatus(msg: HubStatusMessage): void {
    const online = msg.state === 'online';
    if (online !== this.hubUp) this.o.log.info('hub status', { state: msg.state });
    this.hubUp = online;
    this.o.onHubStatus?.(online);
  }

  /** The hub dropped some of our messages for exceeding this device's limits: pause bulk traffic. */
  private onThrottled(msg: ThrottledMessage): void {
    const until = Date.now() + msg.retryAfterMs;
    if (until <= this.throttledUntil) return;
    this.o.log.warn('hub throttled this device; holding telemetry back (kept buffered)', { reason: msg.reason, retryAfterMs: msg.retryAfterMs });
    this.throttledUntil = until;
  }

  /**
   * Publishes on the device's own subtree; false when not connected, the write failed, or (QoS 1)
   * no PUBACK came within PUBLISH_TIMEOUT_MS — a link that died silently must not stall callers.
   */
  publish(leaf: string, payload: string, qos: 0 | 1, retain = false): Promise<boolean> {
    const client = this.client;
    if (!client?.connected) return Promise.resolve(false);
    const sent = new Promise<boolean>((resolve) => {
      client.publish(deviceTopic(this.o.identity.deviceId, leaf), payload, { qos, retain }, (err) => resolve(!err));
    });
    return withTimeout(sent, PUBLISH_TIMEOUT_MS);
  }

  /**
   * Clean shutdown: stop reconnecting, publish the retained offline status for the current session
   * (so the hub need not wait for a Will), then DISCONNECT, which also discards the Will.
   */
  async close(): Promise<void> {
    this.stop.abort();
    const client = this.client;
    if (client?.connected) {
      const sent = await withTimeout(this.publish('status', offlineStatus(this.session), 1, true), CLOSE_TIMEOUT_MS);
      if (!sent) this.o.log.warn('offline status not acknowledged before shutdown');
      await withTimeout(client.endAsync().then(() => true), CLOSE_TIMEOUT_MS);
    }
    client?.end(true);
    await this.loop;
  }
}

function withTimeout(p: Promise<boolean>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([p.catch(() => false), t]).finally(() => clearTimeout(timer));
}
