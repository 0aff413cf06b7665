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

/** Small key/value store for hub-wide settings (e.g. the telemetry rollup watermark). */
export const settings = pgTable('settings', {
  key: text('key').primaryKey(),
  value: jsonb('value').notNull(),
});

export type UserRow = typeof users.$inferSelect;
export type DeviceRow = typeof devices.$inferSelect;
export type FleetRow = typeof fleets.$inferSelect;
export type ProvisioningTokenRow = typeof provisioningTokens.$inferSelect;

