import { z } from 'zod';

/**
 * Hub settings, validated once at boot (validate at the edge). The names are a public
 * interface that scripts use; see README "Configuration".
 */
const EnvSchema = z.object({
  PIFLEET_HTTP_PORT: z.coerce.number().int().min(0).max(65535).default(8080),
  PIFLEET_HTTP_HOST: z.string().default('0.0.0.0'),
  /** Port of the embedded MQTT broker (ignored when MQTT_URL points at an external broker). */
  PIFLEET_MQTT_PORT: z.coerce.number().int().min(0).max(65535).optional(),
  PIFLEET_MQTT_HOST: z.string().default('0.0.0.0'),
  PIFLEET_DATA_DIR: z.string().default('./data'),
  PIFLEET_ADMIN_PASSWORD: z.string().min(8).optional(),
  /** postgres://… switches from embedded PGlite to a real PostgreSQL server. */
  DATABASE_URL: z.string().url().optional(),
  /** mqtt://user:pass@host:port switches from the embedded broker to an external Mosquitto 2. */
  MQTT_URL: z.string().url().optional(),
  /** URL operators and devices use to reach the hub's HTTP API. */
  PIFLEET_PUBLIC_URL: z.string().url().optional(),
  /** URL devices use to reach the broker; defaults to the public host with the MQTT port. */
  PIFLEET_DEVICE_MQTT_URL: z.string().url().optional(),
  PIFLEET_LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** How often buffered telemetry is written to the database, in ms. */
  PIFLEET_TELEMETRY_FLUSH_MS: z.coerce.number().int().min(50).max(60_000).default(1000),
  /**
   * Telemetry rows the hub holds in memory while they wait to be written (~1 minute of 5,000
   * devices at one sample per 10 s, many times over). When full, the hub stops acknowledging
   * telemetry until the database catches up, and the broker keeps the rest.
   */
  PIFLEET_TELEMETRY_BUFFER_ROWS: z.coerce.number().int().min(1).max(10_000_000).default(200_000),
  /**
   * Accepted window for telemetry sample times, relative to the hub's clock: older samples would
   * be deleted by retention at once, newer ones come from a wrong clock. Outside it they are
   * dropped and counted (`pifleet_ingest_rejected_total{reason="too_old"|"future"}`).
   */
  PIFLEET_TELEMETRY_MAX_AGE_MS: z.coerce.number().int().min(60_000).max(24 * 3600_000).default(24 * 3600_000),
  PIFLEET_TELEMETRY_MAX_FUTURE_MS: z.coerce.number().int().min(0).max(24 * 3600_000).default(5 * 60_000),
  /**
   * Per-device limits, enforced before anything reaches the database (token buckets: the rate
   * is sustained per minute, bursts are larger). 0 turns one limit off; PIFLEET_DEVICE_LIMITS=off
   * turns all of them off (benchmarks).
   */
  PIFLEET_DEVICE_LIMITS: z.enum(['on', 'off']).default('on'),
  PIFLEET_DEVICE_MESSAGES_PER_MIN: z.coerce.number().int().min(0).max(1_000_000).default(120),
  PIFLEET_DEVICE_KIB_PER_MIN: z.coerce.number().int().min(0).max(10_000_000).default(1024),
  PIFLEET_DEVICE_TELEMETRY_ROWS_PER_MIN: z.coerce.number().int().min(0).max(10_000_000).default(120),
  /**
   * PEM files (certificate chain, private key). Set both to serve HTTPS and, with the embedded
   * broker, MQTT over TLS on PIFLEET_MQTT_PORT; the files are read once at boot.
   */
  PIFLEET_TLS_CERT: z.string().optional(),
  PIFLEET_TLS_KEY: z.string().optional(),
  /** Largest image bundle accepted by POST /api/images, uncompressed, in bytes (2 GiB). */
  PIFLEET_IMAGE_MAX_BYTES: z.coerce.number().int().min(1).max(2 ** 50).default(2 * 1024 ** 3),
  /** Piece size devices download and verify image bundles in (4 MiB); a piece is refetched alone. */
  PIFLEET_IMAGE_CHUNK_BYTES: z.coerce.number().int().min(4096).max(64 * 1024 ** 2).default(4 * 1024 ** 2),
  /** http(s) URL the hub POSTs each alert to (JSON Alert) when it is raised, resolved or acknowledged. */
  PIFLEET_ALERT_WEBHOOK_URL: z.url({ protocol: /^https?$/ }).optional(),
}).refine((e) => (e.PIFLEET_TLS_CERT === undefined) === (e.PIFLEET_TLS_KEY === undefined), {
  path: ['PIFLEET_TLS_CERT'],
  message: 'PIFLEET_TLS_CERT and PIFLEET_TLS_KEY must be set together (or neither)',
});

export type HubEnv = z.infer<typeof EnvSchema>;

export class ConfigError extends Error {}

/** Parses the environment; throws one readable error naming every bad variable. */
export function parseEnv(env: NodeJS.ProcessEnv): HubEnv {
  const clean = Object.fromEntries(Object.entries(env).filter(([, v]) => v !== ''));
  const r = EnvSchema.safeParse(clean);
  if (!r.success) {
    const lines = r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`invalid configuration: ${lines.join('; ')}`);
  }
  return r.data;
}
