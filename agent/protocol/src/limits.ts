/** Limits shared by hub and agent; both sides enforce them at the edge. */

/** Largest MQTT payload either side accepts on a device topic; larger ones are dropped and counted. */
export const MAX_PAYLOAD_BYTES = 256 * 1024;

/** Device ids are short so topics stay small on metered links: 12 chars of [a-z0-9]. */
export const DEVICE_ID_PATTERN = /^[a-z0-9]{12}$/;

/** Names operators give devices and fleets. */
export const NAME_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/;
export const TAG_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._:=-]{0,62}$/;
export const MAX_TAGS = 32;

/** Telemetry defaults: sample every 10 s, publish one batch every 30 s. */
export const TELEMETRY_SAMPLE_MS = 10_000;
export const TELEMETRY_PUBLISH_MS = 30_000;
/** Samples kept by the agent while the broker is unreachable (6 h at the default rate). */
export const TELEMETRY_MAX_BUFFERED_SAMPLES = 2_160;
/** Largest number of samples one telemetry message may carry. */
export const TELEMETRY_MAX_SAMPLES_PER_MESSAGE = 500;

/** MQTT keepalive the agent asks for by default (seconds); the broker declares it dead after 1.5x. */
export const DEFAULT_KEEPALIVE_S = 60;

/**
 * A topic level the sender chooses (an event kind, a command name): short, lower case, and never
 * an MQTT wildcard or separator, so it cannot widen a subscription or escape its leaf.
 */
export const TOPIC_PARAM_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,31}$/;

/** Most apps a desired state and most services a reported state may list. */
export const MAX_STATE_ENTRIES = 256;
