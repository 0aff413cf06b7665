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
 *                                                       `telemetry` TelemetryUpdate on new samples; comments as heartbeat;
 *                                                       429 `too_many_requests` past 10 streams of one user,
 *                                                       503 `unavailable` past 100 in all
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
}
