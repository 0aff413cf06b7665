import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  text,
  timestamp,
  uniqueIndex,
} from 'drizzle-orm/pg-core';

/** Operators. Roles: admin > operator > viewer (checked server side on every request). */
export const users = pgTable('users', {
  id: text('id').primaryKey(),
  username: text('username').notNull().unique(),
  passwordHash: text('password_hash').notNull(),
  role: text('role', { enum: ['admin', 'operator', 'viewer'] }).notNull(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  disabledAt: timestamp('disabled_at', { withTimezone: true }),
});

/** Dashboard sessions and CLI/API tokens; only the SHA-256 of the secret is stored. */
export const apiTokens = pgTable(
  'api_tokens',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    tokenHash: text('token_hash').notNull().unique(),
    kind: text('kind', { enum: ['session', 'cli'] }).notNull(),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
    expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
    lastUsedAt: timestamp('last_used_at', { withTimezone: true }),
  },
  (t) => [index('api_tokens_user_idx').on(t.userId)],
);

export const fleets = pgTable('fleets', {
  id: text('id').primaryKey(),
  name: text('name').notNull().unique(),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Provisioning tokens: expiring, limited in uses, revocable. Only the hash is stored. */
export const provisioningTokens = pgTable('provisioning_tokens', {
  id: text('id').primaryKey(),
  fleetId: text('fleet_id')
    .notNull()
    .references(() => fleets.id),
  tokenHash: text('token_hash').notNull().unique(),
  /** First characters of the token, shown in lists so operators can tell tokens apart. */
  prefix: text('prefix').notNull(),
  maxUses: integer('max_uses').notNull(),
  uses: integer('uses').notNull().default(0),
  expiresAt: timestamp('expires_at', { withTimezone: true }).notNull(),
  revokedAt: timestamp('revoked_at', { withTimezone: true }),
  createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

export const devices = pgTable(
  'devices',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull().unique(),
    fleetId: text('fleet_id')
      .notNull()
      .references(() => fleets.id),
    tags: text('tags')
      .array()
      .notNull()
      .default(sql`'{}'::text[]`),
    status: text('status', { enum: ['active', 'revoked'] }).notNull().default('active'),
    publicKey: text('public_key').notNull(),
    /** SHA-256 of the device's MQTT password (256 random bits, so a fast hash is enough). */
    mqttSecretHash: text('mqtt_secret_hash').notNull(),
    online: boolean('online').notNull().default(false),
    /** Session sequence of the newest presence message seen; older Wills are ignored. */
    session: bigint('session', { mode: 'number' }).notNull().default(0),
    lastSeenAt: timestamp('last_seen_at', { withTimezone: true }),
    info: jsonb('info').$type<Record<string, unknown>>().notNull().default({}),
    enrolledAt: timestamp('enrolled_at', { withTimezone: true }).notNull().defaultNow(),
    enrolledWith: text('enrolled_with'),
    revokedAt: timestamp('revoked_at', { withTimezone: true }),
  },
  (t) => [index('devices_fleet_idx').on(t.fleetId)],
);

/** Raw telemetry, kept 24 h. (device, ts) is unique so redelivered batches are harmless. */
export const telemetryRaw = pgTable(
  'telemetry_raw',
  {
    deviceId: text('device_id').notNull(),
    ts: timestamp('ts', { withTimezone: true }).notNull(),
    cpu: doublePrecision('cpu'),
    load1: doublePrecision('load1'),
    load5: doublePrecision('load5'),
    load15: doublePrecision('load15'),
    memUsed: doublePrecision('mem_used'),
    memTotal: doublePrecision('mem_total'),
    diskUsed: doublePrecision('disk_used'),
    diskTotal: doublePrecision('disk_total'),
    temp: doublePrecision('temp'),
    throttled: integer('throttled'),
    netRx: doublePrecision('net_rx'),
    netTx: doublePrecision('net_tx'),
    uptime: doublePrecision('uptime'),
    agentRss: doublePrecision('agent_rss'),
    agentCpu: doublePrecision('agent_cpu'),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.ts] }), index('telemetry_raw_ts_idx').on(t.ts)],
);

/** One-minute rollups, kept 30 days. */
export const telemetry1m = pgTable(
  'telemetry_1m',
  {
    deviceId: text('device_id').notNull(),
    minute: timestamp('minute', { withTimezone: true }).notNull(),
    samples: integer('samples').notNull(),
    cpu: doublePrecision('cpu'),
    cpuMax: doublePrecision('cpu_max'),
    load1: doublePrecision('load1'),
    memUsed: doublePrecision('mem_used'),
    memTotal: doublePrecision('mem_total'),
    diskUsed: doublePrecision('disk_used'),
    diskTotal: doublePrecision('disk_total'),
    temp: doublePrecision('temp'),
    tempMax: doublePrecision('temp_max'),
    throttled: integer('throttled'),
    netRx: doublePrecision('net_rx'),
    netTx: doublePrecision('net_tx'),
    uptime: doublePrecision('uptime'),
    agentRss: doublePrecision('agent_rss'),
    agentCpu: doublePrecision('agent_cpu'),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.minute] }), index('telemetry_1m_minute_idx').on(t.minute)],
);

/**
 * What the hub dropped from each device, by stream (telemetry, presence, ...) and reason
 * (invalid, range, rate, db_rejected, ...). Counts are added in batches, so a flood costs one
 * upsert per (device, stream, reason) per flush, not one per dropped item.
 */
export const ingestDrops = pgTable(
  'ingest_drops',
  {
    deviceId: text('device_id').notNull(),
    stream: text('stream').notNull(),
    reason: text('reason').notNull(),
    count: bigint('count', { mode: 'number' }).notNull(),
    firstAt: timestamp('first_at', { withTimezone: true }).notNull(),
    lastAt: timestamp('last_at', { withTimezone: true }).notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.stream, t.reason] })],
);

/**
 * Variables for `${VAR}` interpolation in compose files: fleet-wide, overridden per device.
 * Values are not secrets by design (they end up in the desired state the device receives).
 */
export const fleetVariables = pgTable(
  'fleet_variables',
  {
    fleetId: text('fleet_id').notNull().references(() => fleets.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: text('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.fleetId, t.name] })],
);
export const deviceVariables = pgTable(
  'device_variables',
  {
    deviceId: text('device_id').notNull().references(() => devices.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    value: text('value').notNull(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.name] })],
);

/** A compose app, assigned to one fleet. Its content lives in its releases. */
export const apps = pgTable(
  'apps',
  {
    id: text('id').primaryKey(),
    name: text('name').notNull(),
    fleetId: text('fleet_id').notNull().references(() => fleets.id),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('apps_fleet_name_idx').on(t.fleetId, t.name)],
);

/**
 * Every change of an app is a numbered release (per app, from 1). A release with `deviceId` is a
 * per-device override of the fleet's; a rollback is a new release copying an earlier one
 * (`rollbackOf`), so history only grows. `compose` is the operator's text as given; `envFiles`
 * the env_file contents the CLI sent with it.
 */
export const appReleases = pgTable(
  'app_releases',
  {
    id: text('id').primaryKey(),
    appId: text('app_id').notNull().references(() => apps.id, { onDelete: 'cascade' }),
    number: integer('number').notNull(),
    /** Null: the fleet-wide release; set: an override for that device. */
    deviceId: text('device_id').references(() => devices.id, { onDelete: 'cascade' }),
    compose: text('compose').notNull(),
    envFiles: jsonb('env_files').$type<Record<string, string>>().notNull().default({}),
    rollbackOf: integer('rollback_of'),
    /** Set when the release removes the app (or the device override) rather than changing it. */
    removed: boolean('removed').notNull().default(false),
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [uniqueIndex('app_releases_number_idx').on(t.appId, t.number), index('app_releases_device_idx').on(t.deviceId)],
);

/**
 * The desired state last computed for each device (the protocol's state-desired body minus the
 * envelope) and its version, which only grows. Recomputed on every change that can affect the
 * device; stored before it is published, so a hub restart republishes the same version.
 */
export const deviceDesired = pgTable('device_desired', {
  deviceId: text('device_id').primaryKey().references(() => devices.id, { onDelete: 'cascade' }),
  version: integer('version').notNull(),
  state: jsonb('state').$type<Record<string, unknown>>().notNull(),
  updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Operator instructions per device service (stop, pause, restart/reset counters); part of the desired state. */
export const serviceControls = pgTable(
  'service_controls',
  {
    deviceId: text('device_id').notNull().references(() => devices.id, { onDelete: 'cascade' }),
    app: text('app').notNull(),
    service: text('service').notNull(),
    stopped: boolean('stopped').notNull().default(false),
    pausedUntil: timestamp('paused_until', { withTimezone: true }),
    restartSeq: integer('restart_seq').notNull().default(0),
    resetSeq: integer('reset_seq').notNull().default(0),
    updatedAt: timestamp('updated_at', { withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [primaryKey({ columns: [t.deviceId, t.app, t.service] })],
);

/** The newest state-reported body of each device, as received (validated). */
export const deviceReported = pgTable('device_reported', {
  deviceId: text('device_id').primaryKey().references(() => devices.id, { onDelete: 'cascade' }),
  state: jsonb('state').$type<Record<string, unknown>>().notNull(),
  receivedAt: timestamp('received_at', { withTimezone: true }).notNull(),
});

/**
 * Restart history: one row per supervision transition a device reported. (device, eventId) is
 * unique, so an event redelivered after an offline spell is stored once.
 */
export const serviceEvents = pgTable(
  'service_events',
  {
    deviceId: text('device_id').notNull().references(() => devices.id, { onDelete: 'cascade' }),
    eventId: text('event_id').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    app: text('app').notNull(),
    service: text('service').notNull(),
    fromState: text('from_state').notNull(),
    toState: text('to_state').notNull(),
    reason: text('reason').notNull(),
    at: timestamp('at', { withTimezone: true }).notNull(),
    receivedAt: timestamp('received_at', { withTimezone: true }).notNull().defaultNow(),
    exitCode: integer('exit_code'),
    data: jsonb('data').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [
    primaryKey({ columns: [t.deviceId, t.eventId] }),
    index('service_events_service_idx').on(t.deviceId, t.app, t.service, t.at),
  ],
);

/**
 * Alerts the hub raised: a crash loop, a FATAL service, an engine down, an apply that failed.
 * One open alert per (device, kind, app, service); it is resolved when the condition clears.
 */
export const alerts = pgTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    deviceId: text('device_id').notNull().references(() => devices.id, { onDelete: 'cascade' }),
    kind: text('kind').notNull(),
    app: text('app').notNull().default(''),
    service: text('service').notNull().default(''),
    message: text('message').notNull(),
    raisedAt: timestamp('raised_at', { withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp('resolved_at', { withTimezone: true }),
    ackedBy: text('acked_by').references(() => users.id, { onDelete: 'set null' }),
    ackedAt: timestamp('acked_at', { withTimezone: true }),
  },
  (t) => [
    index('alerts_open_idx').on(t.deviceId, t.kind, t.app, t.service, t.resolvedAt),
    index('alerts_raised_idx').on(t.raisedAt),
  ],
);

/** Who did what, when, to what, and how it went: every operator action in the hub writes one row. */
export const auditLog = pgTable(
  'audit_log',
  {
    id: bigint('id', { mode: 'number' }).primaryKey().generatedAlwaysAsIdentity(),
    at: timestamp('at', { withTimezone: true }).notNull().defaultNow(),
    actorId: text('actor_id'),
    /** Username at the time (kept when the user is deleted). */
    actor: text('actor').notNull(),
    action: text('action').notNull(),
    targetType: text('target_type').notNull(),
    target: text('target').notNull(),
    result: text('result', { enum: ['ok', 'error'] }).notNull(),
    detail: jsonb('detail').$type<Record<string, unknown>>().notNull().default({}),
  },
  (t) => [index('audit_log_at_idx').on(t.at), index('audit_log_target_idx').on(t.targetType, t.target)],
);

/**
 * Image bundles (`docker save` tarballs) held by the hub for devices that pull no registry.
 * The file lives under the hub's data dir; `chunks` are the sha256 of each `chunkSize` piece so
 * an agent can verify and resume piece by piece.
 */
export const imageBundles = pgTable('image_bundles', {
  id: text('id').primaryKey(),
  /** Image references (repo:tag) the archive holds, from its manifest. */
  refs: text('refs').array().notNull(),
  sha256: text('sha256').notNull().unique(),
  size: bigint('size', { mode: 'number' }).notNull(),
  chunkSize: integer('chunk_size').notNull(),
  chunks: jsonb('chunks').$type<string[]>().notNull(),
  uploadedBy: text('uploaded_by').references(() => users.id, { onDelete: 'set null' }),
  createdAt: timestamp('created_at', { withTimezone: true }).notNull().defaultNow(),
});

/** Small key/value store for hub-wide settings (e.g. the telemetry rollup watermark). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
});

export type UserRow = typeof users.$inferSelect;
export type DeviceRow = typeof devices.$inferSelect;
export type FleetRow = typeof fleets.$inferSelect;
export type ProvisioningTokenRow = typeof provisioningTokens.$inferSelect;

