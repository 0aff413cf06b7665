import { z } from 'zod';
import { MIN_SUPPORTED_PROTOCOL_VERSION } from './version.js';
import { MAX_STATE_ENTRIES, TELEMETRY_MAX_SAMPLES_PER_MESSAGE, TOPIC_PARAM_PATTERN } from './limits.js';
import { storableJson, storableRecord, storableString } from './text.js';
import { AppSpecSchema, ApplyErrorSchema, ServiceControlSchema, ServiceStatusSchema, entryName, epochMs } from './apps.js';

/** Every payload carries `{ v, type, id, ts }`; `id` is unique per sender, `ts` is ms since epoch. */
const envelope = {
  v: z.number().int().min(MIN_SUPPORTED_PROTOCOL_VERSION),
  id: z.string().min(1).max(64),
  ts: z.number().int().nonnegative(),
};

/** Static facts about the device, sent with each `online` status (strings cleaned for storage). */
export const DeviceInfoSchema = z.object({
  hostname: storableString(255).optional(),
  os: storableString(255).optional(),
  kernel: storableString(255).optional(),
  arch: storableString(32).optional(),
  model: storableString(255).optional(),
  cpus: z.number().int().nonnegative().max(4096).optional(),
  agentVersion: storableString(64).optional(),
  bootTime: z.number().int().nonnegative().max(8.64e15).optional(),
});
export type DeviceInfo = z.infer<typeof DeviceInfoSchema>;

/**
 * Retained presence on `.../status`. The Last Will carries the same `session` as the `online`
 * message of that connection, so the hub can ignore a stale Will that arrives after a newer
 * session has already come online.
 */
export const StatusMessageSchema = z.object({
  ...envelope,
  type: z.literal('status'),
  state: z.enum(['online', 'offline']),
  session: z.number().int().nonnegative(),
  info: DeviceInfoSchema.optional(),
});
export type StatusMessage = z.infer<typeof StatusMessageSchema>;

/**
 * A cell is a delta (or the first absolute value). Its range is checked per field after decoding
 * (TELEMETRY_RANGES), where a sum that overflowed to Infinity fails like any other bad value.
 */
const cell = z.number().finite().nullable();
export const TelemetryMessageSchema = z.object({
  ...envelope,
  type: z.literal('telemetry'),
  /** Field names of the columns, in order; defaults to TELEMETRY_FIELDS of this version. */
  fields: z.array(z.string().max(32)).max(64).optional(),
  samples: z
    .array(z.array(cell).min(1).max(64))
    .min(1)
    .max(TELEMETRY_MAX_SAMPLES_PER_MESSAGE),
});
export type TelemetryMessage = z.infer<typeof TelemetryMessageSchema>;

/** Hub presence, retained on `pifleet/v1/hub/status`; agents hold back bulk traffic while offline. */
export const HubStatusMessageSchema = z.object({
  ...envelope,
  type: z.literal('hub-status'),
  state: z.enum(['online', 'offline']),
});
export type HubStatusMessage = z.infer<typeof HubStatusMessageSchema>;

/**
 * Sent by the hub to `pifleet/v1/dev/{id}/throttled` (QoS 0, not retained) when it dropped some
 * of this device's messages for exceeding its per-device limits. The agent holds back
 * telemetry (keeping it buffered) until `retryAfterMs` has passed.
 */
export const ThrottledMessageSchema = z.object({
  ...envelope,
  type: z.literal('throttled'),
  /** Which limit was exceeded: message rate, bytes, or telemetry rows. */
  reason: z.enum(['messages', 'bytes', 'rows']),
  retryAfterMs: z.number().int().nonnegative().max(3600_000),
});
export type ThrottledMessage = z.infer<typeof ThrottledMessageSchema>;

const boundedEntries = <T extends z.ZodType>(value: T) =>
  z.record(entryName, value).refine((r) => Object.keys(r).length <= MAX_STATE_ENTRIES, {
    message: `more than ${MAX_STATE_ENTRIES} entries`,
  });

/**
 * What the hub wants running on the device, retained on `.../state/desired` and also sent when
 * the device comes online (or asks, with `evt/sync`), so nothing depends on the broker keeping
 * retained messages. It is the whole state, never a patch. `version` only grows per device; a
 * device ignores a message whose version is not newer than the one it has accepted (a stale
 * retained copy, a reordered delivery).
 */
export const StateDesiredMessageSchema = z.object({
  ...envelope,
  type: z.literal('state-desired'),
  version: z.number().int().nonnegative(),
  apps: boundedEntries(AppSpecSchema),
  /** Operator instructions per app and service (stop, pause restarts, restart, reset FATAL). */
  controls: z.record(entryName, z.record(entryName, ServiceControlSchema)).default({}),
});
export type StateDesiredMessage = z.output<typeof StateDesiredMessageSchema>;

/**
 * What the device actually runs, retained on `.../state/reported` and republished on every
 * change (coalesced): the desired version it last accepted and applied, and per app and service
 * the supervision state, so the hub can show convergence without asking.
 */
export const StateReportedMessageSchema = z.object({
  ...envelope,
  type: z.literal('state-reported'),
  /** The newest desired version the agent accepted (it may still be applying it). */
  desiredVersion: z.number().int().nonnegative(),
  /** The desired version whose apply last finished; equal to desiredVersion once converged. */
  appliedVersion: z.number().int().nonnegative().optional(),
  apps: boundedEntries(z.record(entryName, ServiceStatusSchema)).default({}),
  /** Whether the agent reaches its container engine. */
  engine: z.enum(['up', 'down']).optional(),
  /** Set while the last apply did not finish; cleared once it does. */
  error: ApplyErrorSchema.optional(),
  /** Events the agent dropped unsent over its life (its outbox filled up while the hub was away). */
  eventsDropped: z.number().int().nonnegative().optional(),
});
export type StateReportedMessage = z.output<typeof StateReportedMessageSchema>;

/**
 * Something that happened on the device, on `.../evt/{kind}`. `seq` counts per device, so the hub
 * can drop a QoS 1 redelivery; `at` is when it happened (the envelope `ts` is when it was sent).
 */
export const EventMessageSchema = z.object({
  ...envelope,
  type: z.literal('evt'),
  /** Equals the topic's last level; receivers check it (decodeLeaf). */
  kind: z.string().regex(TOPIC_PARAM_PATTERN),
  seq: z.number().int().nonnegative(),
  at: epochMs,
  data: storableRecord(),
});
export type EventMessage = z.infer<typeof EventMessageSchema>;

/**
 * A command from the hub on `.../cmd/{name}`; the envelope `id` is the correlation id the device
 * answers with on `cmd/res`. A device does not start a command whose `deadline` has passed.
 */
export const CommandMessageSchema = z.object({
  ...envelope,
  type: z.literal('cmd'),
  /** Equals the topic's last level; `res` is taken by the responses' leaf. */
  name: z
    .string()
    .regex(TOPIC_PARAM_PATTERN)
    .refine((n) => n !== 'res', { message: '"res" is not a command name' }),
  args: storableRecord(),
  deadline: epochMs,
});
export type CommandMessage = z.infer<typeof CommandMessageSchema>;

/** The device's answer to one command, on `.../cmd/res`. */
export const CommandResultMessageSchema = z.object({
  ...envelope,
  type: z.literal('cmd-res'),
  /** The `id` of the command answered. */
  re: z.string().min(1).max(64),
  ok: z.boolean(),
  result: storableJson().optional(),
  error: z.object({ code: storableString(64), message: storableString(1024) }).optional(),
});
export type CommandResultMessage = z.infer<typeof CommandResultMessageSchema>;
