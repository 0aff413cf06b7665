import { z } from 'zod';
import { MIN_SUPPORTED_PROTOCOL_VERSION } from './version.js';
import { TELEMETRY_MAX_SAMPLES_PER_MESSAGE } from './limits.js';
import { storableString } from './text.js';

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
