import { z } from 'zod';
import { NAME_PATTERN } from './limits.js';
import { storableString } from './text.js';

/**
 * The app model both sides share: what the hub derives from an operator's compose file (already
 * interpolated and validated, one per device) and what the agent turns into containers. The
 * compose syntax itself never reaches the device; this normalised form does, so the agent needs
 * no YAML, no interpolation and no knowledge of compose's many spellings of the same thing.
 */

/** Millisecond timestamps: non-negative and inside the range a JavaScript Date can hold. */
export const epochMs = z.number().int().nonnegative().max(8.64e15);

/** App, service, volume and network names: operator-given names, safe as keys and in container names. */
export const entryName = z.string().regex(NAME_PATTERN);

export const RESTART_POLICIES = ['no', 'always', 'on-failure', 'unless-stopped'] as const;
export type RestartPolicy = (typeof RESTART_POLICIES)[number];

export const DEPENDS_CONDITIONS = ['service_started', 'service_healthy', 'service_completed_successfully'] as const;
export type DependsCondition = (typeof DEPENDS_CONDITIONS)[number];

/**
 * Supervision rules per service (the compose file's `x-pifleet` extension), after supervisord:
 * a run shorter than `startSecs` is a failed start; `startRetries` failed starts in a row are FATAL.
 */
export const SupervisionSpecSchema = z.object({
  startSecs: z.number().min(0).max(3600).default(10),
  startRetries: z.number().int().min(0).max(100).default(5),
  /** Exit codes that count as success for `restart: on-failure` (and are not crashes). */
  successExitCodes: z.array(z.number().int().min(0).max(255)).max(32).default([0]),
  /** Exit codes that go straight to FATAL, with no retry. */
  fatalExitCodes: z.array(z.number().int().min(0).max(255)).max(32).default([]),
  /** Restart a service that stays unhealthy longer than `unhealthyGraceSecs`. */
  restartUnhealthy: z.boolean().default(true),
  unhealthyGraceSecs: z.number().min(0).max(86_400).default(30),
});
export type SupervisionSpec = z.output<typeof SupervisionSpecSchema>;

export const PortSpecSchema = z.object({
  /** Port inside the container. */
  target: z.number().int().min(1).max(65_535),
  /** Port on the Pi; absent = not published. */
  published: z.number().int().min(1).max(65_535).optional(),
  hostIp: z.string().max(64).optional(),
  protocol: z.enum(['tcp', 'udp']).default('tcp'),
});
export type PortSpec = z.output<typeof PortSpecSchema>;

export const MountSpecSchema = z.object({
  /** `volume`: a named volume of the app (created and owned by pifleet); `bind`: a host path. */
  type: z.enum(['volume', 'bind']),
  source: z.string().min(1).max(4096),
  target: z.string().min(1).max(4096),
  readOnly: z.boolean().default(false),
});
export type MountSpec = z.output<typeof MountSpecSchema>;

/** Docker's healthcheck, times in milliseconds; `test` is in Docker's form (`["CMD", ...]` or `["CMD-SHELL", "..."]`). */
export const HealthcheckSpecSchema = z.object({
  test: z.array(z.string().max(4096)).min(1).max(256),
  intervalMs: z.number().int().min(0).default(30_000),
  timeoutMs: z.number().int().min(0).default(30_000),
  retries: z.number().int().min(0).max(1000).default(3),
  startPeriodMs: z.number().int().min(0).default(0),
});
export type HealthcheckSpec = z.output<typeof HealthcheckSpecSchema>;

export const DeviceMappingSchema = z.object({
  host: z.string().min(1).max(4096),
  container: z.string().min(1).max(4096),
  permissions: z.string().regex(/^[rwm]{1,3}$/).default('rwm'),
});

/**
 * An image shipped as a `docker save` bundle held by the hub instead of pulled from a registry:
 * the agent downloads it (chunked, resumable, sha256-verified) and loads it before creating the
 * container.
 */
export const ImageBundleRefSchema = z.object({
  id: z.string().min(1).max(64),
  sha256: z.string().regex(/^[a-f0-9]{64}$/),
  size: z.number().int().nonnegative(),
});
export type ImageBundleRef = z.output<typeof ImageBundleRefSchema>;

const stringMap = z.record(z.string().max(1024), z.string().max(65_536));

/** One service, normalised: every field has one spelling, durations are milliseconds, sizes bytes. */
export const ServiceSpecSchema = z.object({
  image: z.string().min(1).max(512),
  /** Set when the image comes from a hub-held bundle rather than a registry. */
  bundle: ImageBundleRefSchema.optional(),
  command: z.array(z.string().max(65_536)).max(1024).optional(),
  entrypoint: z.array(z.string().max(65_536)).max(1024).optional(),
  environment: stringMap.default({}),
  ports: z.array(PortSpecSchema).max(1024).default([]),
  mounts: z.array(MountSpecSchema).max(256).default([]),
  /** tmpfs mount points, optionally `path:options` as Docker takes them. */
  tmpfs: z.array(z.string().max(4096)).max(64).default([]),
  labels: stringMap.default({}),
  restart: z.enum(RESTART_POLICIES).default('no'),
  /** null: the image's own healthcheck is disabled; absent: the image's own applies. */
  healthcheck: HealthcheckSpecSchema.nullable().optional(),
  stopSignal: z.string().max(16).optional(),
  stopGraceMs: z.number().int().min(0).max(3_600_000).default(10_000),
  memLimitBytes: z.number().int().positive().optional(),
  /** CPU limit in units of 1e-9 CPUs, as the Docker API takes it. */
  nanoCpus: z.number().int().positive().optional(),
  dependsOn: z.record(entryName, z.enum(DEPENDS_CONDITIONS)).default({}),
  /** `host`, `none`, `bridge`, or `service:<name>`; absent = the app's networks. */
  networkMode: z.string().max(128).optional(),
  /** App networks the service joins; empty with no networkMode = the app's default network. */
  networks: z.array(entryName).max(32).default([]),
  privileged: z.boolean().default(false),
  devices: z.array(DeviceMappingSchema).max(64).default([]),
  capAdd: z.array(z.string().max(64)).max(64).default([]),
  capDrop: z.array(z.string().max(64)).max(64).default([]),
  user: z.string().max(256).optional(),
  workingDir: z.string().max(4096).optional(),
  init: z.boolean().default(false),
  supervision: SupervisionSpecSchema.default(SupervisionSpecSchema.parse({})),
});
export type ServiceSpec = z.output<typeof ServiceSpecSchema>;
export type ServiceSpecInput = z.input<typeof ServiceSpecSchema>;

export const AppSpecSchema = z.object({
  /** The hub's release number this spec comes from (shown in the reported state and the dashboard). */
  release: z.number().int().positive(),
  services: z.record(entryName, ServiceSpecSchema).refine((s) => Object.keys(s).length <= 64, { message: 'more than 64 services' }),
  /** Named volumes of the app (top-level `volumes`). */
  volumes: z.record(entryName, z.object({ labels: stringMap.default({}) })).default({}),
  /** User bridge networks of the app (top-level `networks`); `default` is implied. */
  networks: z.record(entryName, z.object({ internal: z.boolean().default(false), labels: stringMap.default({}) })).default({}),
});
export type AppSpec = z.output<typeof AppSpecSchema>;
export type AppSpecInput = z.input<typeof AppSpecSchema>;

/**
 * An operator's standing instructions for one service, carried in the desired state so that
 * reconciliation never undoes them and an agent restart keeps them. `restartSeq` and `resetSeq`
 * are counters: the agent acts when one grows past the value it last acted on.
 */
export const ServiceControlSchema = z.object({
  /** Operator stop: keep the service STOPPED until started again. */
  stopped: z.boolean().default(false),
  /** No automatic restarts until this time (ms since epoch). */
  pausedUntil: epochMs.optional(),
  restartSeq: z.number().int().nonnegative().default(0),
  /** Leave FATAL (and forget the failure counts). */
  resetSeq: z.number().int().nonnegative().default(0),
});
export type ServiceControl = z.output<typeof ServiceControlSchema>;

/** Lifecycle of one supervised service, as the agent reports it; UNKNOWN is the hub's, for an offline device. */
export const SERVICE_STATES = ['PENDING', 'STARTING', 'RUNNING', 'UNHEALTHY', 'EXITED', 'BACKOFF', 'FATAL', 'STOPPING', 'STOPPED'] as const;
export type ServiceState = (typeof SERVICE_STATES)[number];
export type HubServiceState = ServiceState | 'UNKNOWN';

/** One service in a reported state. Unknown fields are dropped on parse, so newer agents stay accepted. */
export const ServiceStatusSchema = z.object({
  state: z.enum(SERVICE_STATES),
  /** The release of the spec the container was created from. */
  release: z.number().int().nonnegative().optional(),
  image: storableString(512).optional(),
  containerId: z.string().max(128).optional(),
  /** Since when the service is in `state`, ms since epoch. */
  since: epochMs.optional(),
  /** When the current container run started (RUNNING/UNHEALTHY/STARTING). */
  startedAt: epochMs.optional(),
  /** Restarts done by the supervisor since the service was (re)created or reset. */
  restarts: z.number().int().nonnegative().default(0),
  exitCode: z.number().int().optional(),
  oomKilled: z.boolean().optional(),
  health: z.enum(['starting', 'healthy', 'unhealthy']).optional(),
  /** Three crashes in a row without a stable run. */
  crashLoop: z.boolean().default(false),
  /** When BACKOFF ends and the next start is due. */
  nextStartAt: epochMs.optional(),
  /** Restarts paused by an operator until then. */
  pausedUntil: epochMs.optional(),
  /** Image download/pull progress while PENDING, 0..1. */
  pull: z.object({ done: z.number().nonnegative(), total: z.number().nonnegative() }).optional(),
  /** Human-readable detail (last error, health check output), trimmed by the agent. */
  message: storableString(1024).optional(),
});
export type ServiceStatus = z.output<typeof ServiceStatusSchema>;

/** Why the last apply of a desired state did not finish, as the operator should read it. */
export const ApplyErrorSchema = z.object({
  code: z.enum(['engine_down', 'image_missing', 'image_pull_failed', 'image_download_failed', 'disk_full', 'port_conflict', 'invalid_spec', 'engine_error']),
  message: storableString(1024),
  app: entryName.optional(),
  service: entryName.optional(),
  at: epochMs,
});
export type ApplyError = z.output<typeof ApplyErrorSchema>;

/**
 * A supervision transition, the `data` of an `evt/supervision` event. The hub keeps these as the
 * restart history; the envelope `id` (kept by the agent with the event while it waits offline)
 * is what the hub deduplicates on.
 */
export const SupervisionEventDataSchema = z.object({
  app: entryName,
  service: entryName,
  from: z.enum(SERVICE_STATES),
  to: z.enum(SERVICE_STATES),
  /** What caused it: `exited`, `oom`, `unhealthy`, `started`, `healthy`, `operator_stop`, `backoff_done`, `fatal_limit`, ... */
  reason: z.string().regex(/^[a-z_]{1,32}$/),
  exitCode: z.number().int().optional(),
  oomKilled: z.boolean().optional(),
  /** How long the run that just ended lasted. */
  runMs: z.number().int().nonnegative().optional(),
  restarts: z.number().int().nonnegative().optional(),
  crashLoop: z.boolean().optional(),
  /** Delay before the next start (BACKOFF). */
  delayMs: z.number().int().nonnegative().optional(),
  /** The last lines the container wrote before it died (at most 20, each cut to 512 chars). */
  logTail: z.array(storableString(512)).max(20).optional(),
  message: storableString(1024).optional(),
});
export type SupervisionEventData = z.output<typeof SupervisionEventDataSchema>;

/** Event kinds of `evt/{kind}` this version defines. `sync` asks the hub to send the desired state again. */
export const EVENT_KINDS = { supervision: 'supervision', sync: 'sync' } as const;
