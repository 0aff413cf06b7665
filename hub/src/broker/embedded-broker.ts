import { createServer, type Server, type Socket } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes, type AuthenticateError, type Client } from 'aedes';
import type { Counter, Gauge } from 'prom-client';
import type { Logger } from 'pino';
import { DEVICE_ROOT, deviceSubtree, parseDeviceTopic } from '@pifleet/protocol';
import type { HubConfig } from '../config/hub-config.js';
import { randomId, randomSecret } from '../common/ids.js';
import type { MetricsService } from '../common/metrics.service.js';
import type { Db } from '../db/client.js';
import type { IngestDrops } from '../ingest/ingest-drops.service.js';
import { HUB_USERNAME, deviceMaySubscribe, devicePublishVerdict, isDeviceIdentity } from './broker-acl.js';
import { bindMqttPort } from './mqtt-port.js';
import { BrokerInfo, type HubConnection } from './broker-info.js';
import { DeviceCredentials } from './device-credentials.js';
import { duplexPair } from './duplex-pair.js';
import {
  MAX_PACKET_BYTES,
  MAX_UNAUTHENTICATED_PACKET_BYTES,
  MAX_UNAUTHENTICATED_PER_IP,
  UnauthenticatedSockets,
  limitPacketSize,
} from './packet-guard.js';
import { RetainedBudget, clearRetained, limitRetained, loadRetained, type RetainedPersistence } from './retained-limits.js';

type Identity = { kind: 'hub' } | { kind: 'device'; deviceId: string };

/** A client that has not sent CONNECT within this time is dropped (slowloris protection). */
const CONNECT_TIMEOUT_MS = 10_000;
/** A subscriber whose socket stays full this long is cut so it cannot stall delivery to others. */
const DRAIN_TIMEOUT_MS = 15_000;
const MAX_CONNECTIONS = 50_000;

/**
 * aedes on a TCP listener — TLS when PIFLEET_TLS_CERT/KEY are set, with the hub's HTTPS
 * certificate, plain otherwise — with the device access rules in its hooks. The hub's
 * own client is connected in-process (hubConnection().stream), so it needs neither the port nor a
 * certificate valid for the loopback address.
 *
 * Denials: a refused CONNECT gets CONNACK 5 (not authorised) or 4 (bad credentials). A forbidden
 * SUBSCRIBE is answered with SUBACK 0x80 and the connection survives. A forbidden PUBLISH cannot be
 * reported in MQTT 3.1.1, and aedes closes the connection when authorizePublish fails
 * (MQTT-3.3.5-2), so the offending device is cut and reconnects; the message never reaches anyone.
 * Every denial is counted in `pifleet_mqtt_denied_total{action,reason}`.
 *
 * Resource limits, so that no single client can grow the hub's memory (packet-guard.ts,
 * retained-limits.ts): a packet is refused from its fixed header when it announces more than
 * 16 KiB before authentication or MAX_PAYLOAD_BYTES + 1 KiB after; one address may hold at most
 * 64 unauthenticated sockets; a device's subtree may retain at most 16 topics and 1 MiB, past
 * which retained publishes are delivered but not stored; revocation deletes the device's retained
 * messages. Refused connections are counted in `pifleet_mqtt_refused_total{reason}`, unstored
 * retained publishes in `pifleet_ingest_rejected_total{stream="retained",reason}`.
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
  private readonly refused: Counter<string>;
  private readonly unauthenticatedGauge: Gauge<string>;
  private readonly unauthenticated: UnauthenticatedSockets;
  private readonly retained = new RetainedBudget();

  constructor(
    private readonly config: HubConfig,
    db: Db,
    private readonly log: Logger,
    metrics: MetricsService,
    /** Where refused retained messages are counted, per device and reason. */
    private readonly drops: IngestDrops,
  ) {
    super();
    this.credentials = new DeviceCredentials(db);
    this.denied = metrics.counter('pifleet_mqtt_denied_total', 'MQTT operations refused by the broker', ['action', 'reason']);
    this.refused = metrics.counter('pifleet_mqtt_refused_total', 'MQTT connections closed by the broker to protect its memory', ['reason']);
    this.unauthenticatedGauge = metrics.gauge('pifleet_mqtt_unauthenticated_connections', 'MQTT sockets open that have not authenticated yet');
    this.unauthenticated = new UnauthenticatedSockets(MAX_UNAUTHENTICATED_PER_IP, (n) => this.unauthenticatedGauge.set(n));
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
    const persistence = (aedes as unknown as { persistence: RetainedPersistence }).persistence;
    limitRetained(persistence, this.retained, (reason, topic, bytes) => {
      if (reason !== 'revoked') this.drops.record('retained', reason, parseDeviceTopic(topic)?.deviceId);
      this.log.debug({ topic, bytes, reason }, 'retained message not stored');
    });
    // The default in-memory persistence starts empty; one that outlives the process would not.
    await loadRetained(persistence, this.retained, `${DEVICE_ROOT}/#`);
    aedes.on('clientDisconnect', (client) => {
      const set = this.live.get(client.id);
      if (set?.delete(client) && set.size === 0) this.live.delete(client.id);
    });
    aedes.on('clientError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'mqtt client error'));
    aedes.on('connectionError', (client, err) => this.log.debug({ clientId: client.id, err: err.message }, 'mqtt connection error'));
    const server = this.createListener((socket) => this.handleSocket(aedes, socket));
    server.maxConnections = MAX_CONNECTIONS;
    // On the raw TCP connection, before a TLS handshake: a refused socket costs next to nothing.
    server.prependListener('connection', (socket: Socket) => {
      if (this.unauthenticated.admit(socket)) return;
      this.refused.inc({ reason: 'unauthenticated_per_ip' });
      this.log.debug({ remote: socket.remoteAddress }, 'mqtt socket refused: too many unauthenticated sockets from this address');
      socket.destroy();
    });
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

  private handleSocket(aedes: Aedes, socket: Socket): void {
    if (socket.destroyed) return; // refused by the address cap, or the peer already left
    const client = aedes.handle(socket);
    const guarded = limitPacketSize(
      client,
      () => (this.identities.has(client) ? MAX_PACKET_BYTES : MAX_UNAUTHENTICATED_PACKET_BYTES),
      (announced, max) => {
        const authenticated = this.identities.has(client);
        this.refused.inc({ reason: authenticated ? 'packet_size' : 'packet_size_unauthenticated' });
        this.log.debug({ clientId: client.id ?? undefined, remote: socket.remoteAddress, announced, max }, 'mqtt packet too large, connection closed');
      },
    );
    if (!guarded) {
      // Fail closed: without the hook any client could make the hub buffer 268 MB.
      this.log.error('aedes client has no mqtt-packet parser to limit packet sizes; connection refused');
      socket.destroy();
    }
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
      if (ok) {
        this.identities.set(client, { kind: 'hub' });
        this.unauthenticated.authenticated(client.conn);
      }
      return ok;
    }
    if (!isDeviceIdentity(client.id, username)) return false;
    if (!(await this.credentials.verify(client.id, password))) return false;
    this.identities.set(client, { kind: 'device', deviceId: client.id });
    this.unauthenticated.authenticated(client.conn);
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
        // Not through handleSocket: the hub's own client is trusted (no packet limit, no address cap).
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
    this.retained.restore(deviceId);
  }

  async removeDevice(deviceId: string): Promise<void> {
    this.credentials.revoke(deviceId);
    // Before the connections close: their Wills and in-flight publishes must not retain anything.
    this.retained.revoke(deviceId);
    const set = this.live.get(deviceId);
    this.live.delete(deviceId);
    const closing = [...(set ?? [])].map((c) => new Promise<void>((r) => c.close(() => r())));
    await withTimeout(Promise.all(closing).then(() => undefined), 1500);
    const persistence = (this.aedes as unknown as { persistence?: RetainedPersistence } | undefined)?.persistence;
    if (!persistence) return;
    try {
      const cleared = await clearRetained(persistence, deviceSubtree(deviceId));
      if (cleared) this.log.debug({ deviceId, cleared }, 'retained messages of revoked device deleted');
    } catch (err) {
      // The device is cut off either way; its leftovers are bounded by the retained limits.
      this.log.warn({ err, deviceId }, 'could not delete the revoked device\'s retained messages');
    }
  }
}

function withTimeout(p: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<void>((r) => (timer = setTimeout(r, ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
