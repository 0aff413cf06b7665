/**
 * The hub's HTTP API contract, shared (type-only) with the dashboard and the CLI.
 * Every route is under /api. Errors are `{ code, message }` with a stable `code` (the codes and
 * their statuses are ErrorCode in common/errors.ts). Any request with a NUL (U+0000) or text that
 * is not valid UTF-8 in its path, query or JSON body is 400 `bad_request`.
 * Auth: `Authorization: Bearer <token>` or the `pifleet_session` HttpOnly cookie set by login.
 *
 *   GET    /api/health                         public   -> Health
 *   POST   /api/auth/login                     public   LoginRequest -> LoginResponse (+ cookie)
 *   POST   /api/auth/logout                    any      -> 204 (token revoked, cookie cleared)
 *   GET    /api/auth/me                        any      -> User
 *   GET    /api/users                          admin    -> User[]
 *   POST   /api/users                          admin    CreateUserRequest -> User
 *   GET    /api/fleets                         viewer+  -> Fleet[]
 *   POST   /api/fleets                         admin    { name } -> Fleet
 *   GET    /api/tokens                         admin    -> ProvisioningToken[]
 *   POST   /api/tokens                         admin    CreateTokenRequest -> CreatedToken
 *   DELETE /api/tokens/:idOrToken              admin    -> ProvisioningToken (revoked)
 *   POST   /api/enroll                         public   EnrollRequest -> EnrollResponse (protocol pkg)
 *   GET    /api/overview                       viewer+  -> Overview
 *   GET    /api/devices?q=&tag=&fleet=&online= viewer+  -> Device[]
 *   GET    /api/devices/:idOrName              viewer+  -> Device
 *   PATCH  /api/devices/:idOrName              operator+ UpdateDeviceRequest -> Device
 *   POST   /api/devices/:idOrName/revoke       admin    -> Device
 *   GET    /api/devices/:idOrName/telemetry    viewer+  ?from=ISO&to=ISO&resolution=raw|1m|auto -> TelemetrySeries
 *   GET    /api/devices/:idOrName/drops        viewer+  -> IngestDrop[] (what the hub refused from it)
 *   GET    /api/events                         viewer+  SSE (LiveEvent): `snapshot` {devices: Device[]} first,
 *                                                       then `device` Device on every change of its row and
 *                                                       `telemetry` TelemetryUpdate on new samples, `containers` DeviceContainers
 *                                                       on every reported change, `alert` Alert when raised or
 *                                                       resolved; comments as heartbeat;
 *                                                       429 `too_many_requests` past 10 streams of one user,
 *                                                       503 `unavailable` past 100 in all
 *
 * Apps and supervision:
 *   POST   /api/apps/apply                     operator+ ApplyAppRequest -> ApplyAppResult (400 `invalid_compose` with
 *                                                       ComposeError[] in `details`; dryRun changes nothing)
 *   GET    /api/apps?fleet=                    viewer+  -> AppSummary[]
 *   GET    /api/apps/:fleet/:app/releases      viewer+  -> Release[] (newest first)
 *   POST   /api/apps/:fleet/:app/rollback      operator+ RollbackRequest -> ApplyAppResult
 *   DELETE /api/apps/:fleet/:app               operator+ ?device= -> ApplyAppResult (a release that removes it)
 *   GET    /api/fleets/:name/variables         viewer+  -> Record<string,string>
 *   PUT    /api/fleets/:name/variables         operator+ Record<string,string> -> Record<string,string>
 *   GET    /api/devices/:idOrName/variables    viewer+  -> Record<string,string>
 *   PUT    /api/devices/:idOrName/variables    operator+ Record<string,string> -> Record<string,string>
 *   GET    /api/devices/:idOrName/containers   viewer+  -> DeviceContainers
 *   GET    /api/devices/:idOrName/services/:app/:service/history?limit= viewer+ -> ServiceEvent[] (newest first)
 *   POST   /api/devices/:idOrName/services/action operator+ ServiceActionRequest -> DeviceContainers
 *   GET    /api/fleets/:name/troubles          viewer+  -> ServiceRecord[] (crash-looping or FATAL services)
 *   GET    /api/alerts?open=true&device=       viewer+  -> Alert[] (newest first)
 *   POST   /api/alerts/:id/ack                 operator+ -> Alert
 *   GET    /api/audit?since=ISO&actor=&target=&limit= admin -> AuditEntry[] (newest first)
 *
 * Image bundles (`docker save` archives for devices without a registry):
 *   POST   /api/images                         operator+ raw body (application/octet-stream, .tar or .tar.gz) -> ImageBundle
 *                                                       (201 stored, 200 the same archive already was; 400 `invalid_image`,
 *                                                       413 `payload_too_large` past PIFLEET_IMAGE_MAX_BYTES, 507 `disk_full`)
 *   GET    /api/images                         viewer+  -> ImageBundle[]
 *   DELETE /api/images/:id                     operator+ -> ImageBundle (409 `conflict` while a release uses it)
 *   GET    /api/images/:id/manifest            device   -> BundleManifest   (HTTP Basic: device id : MQTT password; else 401)
 *   GET    /api/images/:id/chunks/:n           device   -> the n-th chunk from 0 (application/octet-stream; ETag "<chunk sha256>",
 *                                                       304 on a matching If-None-Match)
 *   GET    /metrics                            viewer+  Prometheus text format
 *   GET    /api/docs                           public   OpenAPI UI (JSON at /api/docs-json)
 */

export type Role = 'admin' | 'operator' | 'viewer';

export interface Health {
  status: 'ok' | 'degraded';
  version: string;
  db: 'ok' | 'down';
  mqtt: 'ok' | 'down';
  broker: 'embedded' | 'external';
}

export interface User {
  id: string;
  username: string;
  role: Role;
  createdAt: string;
}

export interface LoginRequest {
  username: string;
  password: string;
  /** 'cli' tokens last 30 days, 'session' (dashboard) 12 hours. Default 'session'. */
  kind?: 'session' | 'cli';
}

export interface LoginResponse {
  token: string;
  expiresAt: string;
  user: User;
}

export interface CreateUserRequest {
  username: string;
  password: string;
  role: Role;
}

export interface Fleet {
  id: string;
  name: string;
  createdAt: string;
  deviceCount: number;
}

export interface CreateTokenRequest {
  /** Fleet name; default 'default'. */
  fleet?: string;
  /** How many devices may enroll with it; default 1. */
  maxUses?: number;
  /** Lifetime in seconds; default 86400 (24 h). */
  ttlSeconds?: number;
}

export interface ProvisioningToken {
  id: string;
  fleet: string;
  /** First characters of the secret, for telling tokens apart. */
  prefix: string;
  maxUses: number;
  uses: number;
  expiresAt: string;
  revokedAt: string | null;
  createdAt: string;
  state: 'active' | 'expired' | 'exhausted' | 'revoked';
}

export interface CreatedToken extends ProvisioningToken {
  /** The secret itself; shown once, never stored in clear. */
  token: string;
  /** Ready-to-paste command that starts an agent with this token. */
  agentCommand: string;
}

export interface Device {
  id: string;
  name: string;
  fleet: string;
  online: boolean;
  lastSeenAt: string | null;
  tags: string[];
  status: 'active' | 'revoked';
  enrolledAt: string;
  info: Record<string, unknown>;
  /** Most recent telemetry sample, if any (same fields as TelemetryPoint). */
  lastTelemetry?: TelemetryPoint | null;
}

export interface UpdateDeviceRequest {
  name?: string;
  /** Replaces the tag set. */
  tags?: string[];
  addTags?: string[];
  removeTags?: string[];
}

export interface Overview {
  total: number;
  online: number;
  offline: number;
  revoked: number;
  fleets: { name: string; total: number; online: number }[];
}

/** Units as in the protocol's TELEMETRY_FIELDS, except cpu/agentCpu in percent and temp in °C. */
export interface TelemetryPoint {
  ts: string;
  cpu: number | null;
  load1: number | null;
  load5?: number | null;
  load15?: number | null;
  memUsed: number | null;
  memTotal: number | null;
  diskUsed: number | null;
  diskTotal: number | null;
  temp: number | null;
  throttled: number | null;
  netRx: number | null;
  netTx: number | null;
  uptime: number | null;
  agentRss: number | null;
  agentCpu: number | null;
}

export interface TelemetrySeries {
  deviceId: string;
  resolution: 'raw' | '1m';
  points: TelemetryPoint[];
}

/**
 * Input the hub refused from one device, per stream and reason (e.g. telemetry/range: a value
 * outside its field's bounds was stored as null; telemetry/rate_rows: over the device's limit).
 */
export interface IngestDrop {
  stream: string;
  reason: string;
  count: number;
  firstAt: string;
  lastAt: string;
}

/**
 * A device's newest sample of one write, pushed on the live stream as it is stored (no re-read).
 * Buffered data that arrives late can be older than a point sent before: keep the newer one.
 */
export interface TelemetryUpdate {
  deviceId: string;
  point: TelemetryPoint;
  /** When the hub stored it; the device was heard from shortly before (its `lastSeenAt`). */
  receivedAt: string;
}

/** The named events of GET /api/events, by name. */
export interface LiveEventMap {
  snapshot: { devices: Device[] };
  device: Device;
  telemetry: TelemetryUpdate;
  containers: DeviceContainers;
  alert: Alert;
}

/* ---- apps and supervision ------------------------------------------------------------------ */

/** Supervision state as the hub shows it: the agent's, or UNKNOWN while the device is offline. */
export type HubServiceState = 'PENDING' | 'STARTING' | 'RUNNING' | 'UNHEALTHY' | 'EXITED' | 'BACKOFF' | 'FATAL' | 'STOPPING' | 'STOPPED' | 'UNKNOWN';

export interface ApplyAppRequest {
  /** App name; default the compose file's top-level `name`. */
  name?: string;
  /** The compose file's text (YAML). */
  compose: string;
  /** Contents of the files `env_file` refers to, by the path written in the compose file. */
  envFiles?: Record<string, string>;
  /** Exactly one of fleet (the fleet-wide release) and device (an override for that device). */
  fleet?: string;
  device?: string;
  /** Validate and return the plan; change nothing. */
  dryRun?: boolean;
}

/** One problem in a compose file: the field's path (`services.web.ports[1]`), its line, what is wrong. */
export interface ComposeError {
  path: string;
  line: number | null;
  message: string;
}

/** What applying a release does to each service of each affected device. */
export interface PlanEntry {
  device: string;
  app: string;
  service: string;
  change: 'create' | 'recreate' | 'remove' | 'unchanged';
  /** For recreate: the spec fields that differ. */
  fields?: string[];
}

export interface ApplyAppResult {
  app: string;
  fleet: string;
  /** The release created (absent on a dry run). */
  release?: Release;
  plan: PlanEntry[];
  dryRun: boolean;
}

export interface RollbackRequest {
  /** Release number to restore. */
  release: number;
  /** Roll back that device's override instead of the fleet-wide release. */
  device?: string;
}

export interface Release {
  app: string;
  fleet: string;
  number: number;
  /** Device name for a per-device override; null for the fleet-wide release. */
  device: string | null;
  compose: string;
  rollbackOf: number | null;
  removed: boolean;
  createdBy: string | null;
  createdAt: string;
  /** Whether this is the release in force for its scope. */
  current: boolean;
}

export interface AppSummary {
  name: string;
  fleet: string;
  /** Current fleet-wide release number (null when removed). */
  release: number | null;
  services: string[];
  /** Devices with an override release. */
  overrides: string[];
  updatedAt: string;
}

export interface ServiceRecord {
  deviceId: string;
  device: string;
  app: string;
  service: string;
  state: HubServiceState;
  /** The state the agent last reported (kept while UNKNOWN). */
  reportedState: string | null;
  release: number | null;
  image: string | null;
  since: string | null;
  startedAt: string | null;
  restarts: number;
  exitCode: number | null;
  oomKilled: boolean;
  health: 'starting' | 'healthy' | 'unhealthy' | null;
  crashLoop: boolean;
  nextStartAt: string | null;
  pausedUntil: string | null;
  /** Operator stop in force. */
  stopped: boolean;
  pull: { done: number; total: number } | null;
  message: string | null;
}

export interface DeviceContainers {
  deviceId: string;
  device: string;
  online: boolean;
  desiredVersion: number;
  /** What the agent last said it accepted and finished applying. */
  reportedVersion: number | null;
  appliedVersion: number | null;
  engine: 'up' | 'down' | null;
  error: { code: string; message: string; app?: string; service?: string; at: string } | null;
  reportedAt: string | null;
  services: ServiceRecord[];
}

export interface ServiceEvent {
  eventId: string;
  deviceId: string;
  app: string;
  service: string;
  from: string;
  to: string;
  reason: string;
  at: string;
  exitCode: number | null;
  oomKilled: boolean;
  runMs: number | null;
  restarts: number | null;
  delayMs: number | null;
  crashLoop: boolean;
  logTail: string[];
  message: string | null;
  /** When the hub stored it (`at` is when it happened on the device). */
  receivedAt?: string;
}

export type ServiceAction = 'start' | 'stop' | 'restart' | 'reset' | 'pause' | 'resume';

export interface ServiceActionRequest {
  action: ServiceAction;
  /** Both absent: every service of the device; app alone: every service of that app. */
  app?: string;
  service?: string;
  /** For pause: how long automatic restarts stay paused (1..1440). */
  minutes?: number;
}

export type AlertKind = 'crash_loop' | 'fatal' | 'engine_down' | 'apply_failed';

export interface Alert {
  id: string;
  deviceId: string;
  device: string;
  kind: AlertKind;
  app: string | null;
  service: string | null;
  message: string;
  raisedAt: string;
  resolvedAt: string | null;
  ackedBy: string | null;
  ackedAt: string | null;
}

export interface AuditEntry {
  id: number;
  at: string;
  actor: string;
  action: string;
  targetType: string;
  target: string;
  result: 'ok' | 'error';
  detail: Record<string, unknown>;
}

export interface ImageBundle {
  id: string;
  refs: string[];
  sha256: string;
  size: number;
  chunkSize: number;
  chunkCount: number;
  uploadedBy: string | null;
  createdAt: string;
}

/** What an agent needs to download a bundle piece by piece and verify each piece. */
export interface BundleManifest {
  id: string;
  refs: string[];
  sha256: string;
  size: number;
  chunkSize: number;
  chunks: string[];
}
