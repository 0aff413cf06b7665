import { resolve } from 'node:path';
import type { HubEnv } from './env.js';
import { loadTlsFiles, type TlsFiles } from './tls-files.js';

export const DEFAULT_MQTT_PORT = 1883;

/** Resolved, typed hub configuration; injected everywhere as `HubConfig`. */
export class HubConfig {
  readonly httpPort: number;
  readonly httpHost: string;
  readonly mqttPort: number;
  /** False when PIFLEET_MQTT_PORT was left at its default, so the broker may pick another port. */
  readonly mqttPortExplicit: boolean;
  /** False when devices' broker URL is derived (then it follows the port actually bound). */
  readonly deviceMqttUrlExplicit: boolean;
  readonly mqttHost: string;
  readonly dataDir: string;
  readonly adminPassword: string | undefined;
  readonly databaseUrl: string | undefined;
  readonly mqttUrl: string | undefined;
  readonly publicUrl: string;
  readonly deviceMqttUrl: string;
  readonly logLevel: HubEnv['PIFLEET_LOG_LEVEL'];
  readonly telemetryFlushMs: number;
  /** Rows held in memory before telemetry waits for the writer (backpressure through the broker). */
  readonly telemetryBufferRows: number;
  /** Accepted telemetry sample times: [now - maxAge, now + maxFuture]. */
  readonly telemetryWindow: { maxAgeMs: number; maxFutureMs: number };
  /** Sustained per-device rates (per minute); undefined when PIFLEET_DEVICE_LIMITS=off. 0 = unlimited. */
  readonly deviceLimits: { messagesPerMin: number; kibPerMin: number; telemetryRowsPerMin: number } | undefined;
  /** From PIFLEET_TLS_CERT/KEY; when set, the HTTP port speaks HTTPS and the embedded broker TLS. */
  readonly tls: TlsFiles | undefined;
  /** Image bundles: largest upload (uncompressed bytes) and the piece size devices fetch. */
  readonly images: { maxBytes: number; chunkBytes: number };
  /** PIFLEET_ALERT_WEBHOOK_URL: where alerts are POSTed; may carry a secret, so it is never logged. */
  readonly alertWebhookUrl: string | undefined;

  /** Throws ConfigError when the TLS files cannot be read or do not form a key pair. */
  constructor(env: HubEnv) {
    this.tls = loadTlsFiles(env);
    this.httpPort = env.PIFLEET_HTTP_PORT;
    this.httpHost = env.PIFLEET_HTTP_HOST;
    this.mqttPort = env.PIFLEET_MQTT_PORT ?? DEFAULT_MQTT_PORT;
    this.mqttPortExplicit = env.PIFLEET_MQTT_PORT !== undefined;
    this.deviceMqttUrlExplicit = env.PIFLEET_DEVICE_MQTT_URL !== undefined;
    this.mqttHost = env.PIFLEET_MQTT_HOST;
    this.dataDir = resolve(env.PIFLEET_DATA_DIR);
    this.adminPassword = env.PIFLEET_ADMIN_PASSWORD;
    this.databaseUrl = env.DATABASE_URL;
    this.mqttUrl = env.MQTT_URL;
    const scheme = this.tls ? 'https' : 'http';
    this.publicUrl = (env.PIFLEET_PUBLIC_URL ?? `${scheme}://localhost:${env.PIFLEET_HTTP_PORT}`).replace(/\/$/, '');
    this.deviceMqttUrl = env.PIFLEET_DEVICE_MQTT_URL ?? this.defaultDeviceMqttUrl(env);
    this.logLevel = env.PIFLEET_LOG_LEVEL;
    this.images = { maxBytes: env.PIFLEET_IMAGE_MAX_BYTES, chunkBytes: env.PIFLEET_IMAGE_CHUNK_BYTES };
    this.alertWebhookUrl = env.PIFLEET_ALERT_WEBHOOK_URL;
    this.telemetryFlushMs = env.PIFLEET_TELEMETRY_FLUSH_MS;
    this.telemetryBufferRows = env.PIFLEET_TELEMETRY_BUFFER_ROWS;
    this.telemetryWindow = { maxAgeMs: env.PIFLEET_TELEMETRY_MAX_AGE_MS, maxFutureMs: env.PIFLEET_TELEMETRY_MAX_FUTURE_MS };
    this.deviceLimits =
      env.PIFLEET_DEVICE_LIMITS === 'off'
        ? undefined
        : {
            messagesPerMin: env.PIFLEET_DEVICE_MESSAGES_PER_MIN,
            kibPerMin: env.PIFLEET_DEVICE_KIB_PER_MIN,
            telemetryRowsPerMin: env.PIFLEET_DEVICE_TELEMETRY_ROWS_PER_MIN,
          };
  }

  get embeddedBroker(): boolean {
    return this.mqttUrl === undefined;
  }

  private defaultDeviceMqttUrl(env: HubEnv): string {
    if (env.MQTT_URL) {
      // Devices use the external broker's address, without the hub's own credentials.
      const u = new URL(env.MQTT_URL);
      return `${u.protocol}//${u.host}`;
    }
    const host = new URL(this.publicUrl).hostname;
    return `${this.tls ? 'mqtts' : 'mqtt'}://${host}:${this.mqttPort}`;
  }
}
