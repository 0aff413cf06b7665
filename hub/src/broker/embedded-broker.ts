import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Counter } from 'prom-client';
import type { Logger } from 'pino';
import type { HubConfig } from '../config/hub-config.js';
import { randomId, randomSecret } from '../common/ids.js';
import type { MetricsService } from '../common/metrics.service.js';
import type { Db } from '../db/client.js';
import { HUB_USERNAME, deviceMaySubscribe, devicePublishVerdict, isDeviceIdentity } from './broker-acl.js';
import { bindMqttPort } from './mqtt-port.js';
import { BrokerInfo, type HubConnection } from './broker-info.js';
import { DeviceCredentials } from './device-credentials.js';
import { duplexPair } from './duplex-pair.js';

type Identity = { kind: 'hub' } | { kind: 'device'; deviceId: string };

/** A client that has not sent CONNECT within this time is dropped (slowloris protection). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A subscriber whose socket stays full this long is cut so it cannot stall delivery to others. */
const DRAIN_TIMEOUT_MS = 15_000;
const MAX_CONNECTIONS = 50_000;

/**
 * aedes on a TCP listener — TLS when PIFLEET_TLS_CERT/KEY are set, with the hub's HTTPS
 * certificate, plain otherwise — with the device access rules in its hooks (DESIGN §3). The hub's
 * own client is connected in-process (hubConnection().stream), so it needs neither the port nor a
 * certificate valid for the loopback address.
 *
 * Denials: a refused CONNECT gets CONNACK 5 (not authorised) or 4 (bad credentials). A forbidden
 * SUBSCRIBE is answered with SUBACK 0x80 and the connection survives. A forbidden PUBLISH cannot be
 * reported in MQTT 3.1.1, and aedes closes the connection when authorizePublish fails
 * (MQTT-3.3.5-2), so the offending device is cut and reconnects; the message never reaches anyone.
 * Every denial is counted in `pifleet_mqtt_denied_total{action,reason}`.
 */
export class EmbeddedBroker extends BrokerInfo {
  readonly mode = 'embedded' as const;
  private aedes?: Aedes;
  private server?: Server;
  private port?: number;
  private starting?: Promise<void>;
  private readonly identities = new WeakMap<Client, Identity>();
  /**
   * Live device connections by id. Tracked here rather than read from aedes' internal `clients`
   * map because during a session takeover the old connection's teardown can remove the new
   * connection's entry there, and revocation must never miss a live client.
   */
  private readonly live = new Map<string, Set<Client>>();
  private readonly credentials: DeviceCredentials;
  private readonly hubPassword = randomSecret();
  private readonly hubClientId = `${HUB_USERNAME}-${randomId(8)}`;
  private readonly denied: Counter<string>;

  constructor(
    private readonly config: HubConfig,
    db: Db,
    private readonly log: Logger,
    metrics: MetricsService,
  ) {
    super();
    this.credentials = new DeviceCredentials(db);
    this.denied = metrics.counter('pifleet_mqtt_denied_total', 'MQTT operations refused by the broker', ['action', 'reason']);
  }

  start(): Promise<void> {
    this.starting ??= this.listen();
    return this.starting;
  }

  private async listen(): Promise<void> {
    const aedes = await Aedes.createBroker({
      connectTimeout: CONNECT_TIMEOUT_MS,
      drainTimeout: DRAIN_TIMEOUT_MS,
      maxClientsIdLength: 64,
      authenticate: (client, username, password, done) => {
        this.authenticate(client, username, password).then(
          (ok) => {
            if (ok) return done(null, true);
            this.denied.inc({ action: 'connect', reason: 'credentials' });
            done(Object.assign(new Error('not authorised'), { returnCode: 5 }) as AuthenticateError, false);
          },
          (err: unknown) => {
            // DB down: answer "server unavailable" so the device retries later.
            this.log.warn({ err }, 'mqtt authenticate failed');
            done(Object.assign(new Error('unavailable'), { returnCode: 3 }) as AuthenticateError, false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        const who = client ? this.identities.get(client) : undefined;
        if (who?.kind === 'hub') return done(null);
        const verdict = who ? devicePublishVerdict(who.deviceId, packet.topic, packet.payload.length) : 'topic';
        if (verdict === 'ok') return done(null);
        this.denied.inc({ action: 'publish', reason: verdict });
        done(new Error(`publish denied: ${verdict}`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const who = this.identities.get(client);
        if (who?.kind === 'hub' || (who && deviceMaySubscribe(who.deviceId, sub.topic))) return done(null, sub);
        this.denied.inc({ action: 'subscribe', reason: 'topic' });
        done(null, null); // SUBACK 0x80, connection kept
      },
    });
    aedes.on('clientDisconnect', (client) => {
      const set = this.live.get(client.id);
      if (set?.delete(client) && set.size === 0) this.live.delete(client.id);
    });
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
    aedes.on('connectionError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'mqtt connection error'));
    const server = this.createListener((socket) => aedes.handle(socket));
    server.maxConnections = MAX_CONNECTIONS;
    try {
      this.port = await bindMqttPort(server, this.config, this.log);
    } catch (err) {
      aedes.close();
      throw err;
    }
    server.on('error', (err) => this.log.error({ err }, 'mqtt listener error'));
    this.aedes = aedes;
    this.server = server;
    this.log.info({ port: this.port, host: this.config.mqttHost, tls: this.config.tls !== undefined }, 'embedded MQTT broker listening');
  }

  private createListener(onConnection: (socket: Socket) => void): Server {
    const tls = this.config.tls;
    if (!tls) return createServer(onConnection);
    // The handshake counts against the same budget as CONNECT: a client that stalls either is dropped.
    const server = createTlsServer({ cert: tls.cert, key: tls.key, handshakeTimeout: CONNECT_TIMEOUT_MS }, onConnection);
    // Plain MQTT sent to the TLS port, untrusted clients, timeouts: the socket is closed by Node.
    server.on('tlsClientError', (err) => this.log.debug({ err: err.message }, 'mqtt TLS handshake failed'));
    return server;
  }

  private async authenticate(client: Client, username: string | undefined, password: Buffer | undefined): Promise<boolean> {
    if (username === HUB_USERNAME) {
      const ok = password?.toString('utf8') === this.hubPassword;
      if (ok) this.identities.set(client, { kind: 'hub' });
      return ok;
    }
    if (!isDeviceIdentity(client.id, username)) return false;
    if (!(await this.credentials.verify(client.id, password))) return false;
    this.identities.set(client, { kind: 'device', deviceId: client.id });
    const set = this.live.get(client.id) ?? new Set<Client>();
    for (const c of set) if (c.closed) set.delete(c);
    this.live.set(client.id, set.add(client));
    return true;
  }

  async stop(): Promise<void> {
    const { aedes, server } = this;
    this.aedes = undefined;
    this.server = undefined;
    if (aedes) await withTimeout(new Promise<void>((r) => aedes.close(() => r())), 5000);
    if (server) await withTimeout(new Promise<void>((r) => server.close(() => r())), 5000);
  }

  brokerPort(): number | undefined {
    return this.port;
  }

  deviceUrl(): string {
    const url = new URL(this.config.deviceMqttUrl);
    // Unless an operator named the URL, tell devices the port actually bound (port 0 in tests, or
    // a fallback when 1883 was taken).
    if (!this.config.deviceMqttUrlExplicit && this.port !== undefined) url.port = String(this.port);
    return url.toString().replace(/\/$/, '');
  }

  hubConnection(): HubConnection {
    const wildcard = ['0.0.0.0', '::', ''].includes(this.config.mqttHost);
    const host = wildcard ? '127.0.0.1' : this.config.mqttHost;
    return {
      url: `in-process (listener ${host.includes(':') ? `[${host}]` : host}:${this.port ?? this.config.mqttPort})`,
      stream: () => {
        const [hubEnd, brokerEnd] = duplexPair();
        if (!this.aedes) brokerEnd.destroy();
        else this.aedes.handle(brokerEnd);
        return hubEnd;
      },
      username: HUB_USERNAME,
      password: this.hubPassword,
      clientId: this.hubClientId,
      persistentSession: false,
    };
  }

  async addDevice(deviceId: string): Promise<void> {
    // Credentials live in the devices row (mqttSecretHash); only the cache needs to know.
    this.credentials.forget(deviceId);
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.credentials.revoke(deviceId);
    const set = this.live.get(deviceId);
    this.live.delete(deviceId);
    const closing = [...(set ?? [])].map((c) => new Promise<void>((r) => c.close(() => r())));
    await withTimeout(Promise.all(closing).then(() => undefined), 1500);
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
