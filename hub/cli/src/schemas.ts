import { z } from 'zod';
import type * as Contract from '../../src/contract.js';

/**
 * Shapes of the hub responses the CLI reads. hub/src/contract.ts is the source of truth: its
 * types are read at compile time (see ContractChecks below, a build error when the contract
 * renames or retypes a field the CLI reads), and these schemas check the answers at run time, so
 * a hub/CLI version mismatch is a clear error instead of `undefined` in a table. zod drops
 * unknown keys, which also keeps `--json` output stable when the hub adds fields.
 */
export const ApiErrorSchema = z.object({ code: z.string(), message: z.string(), details: z.unknown().optional() });

export const UserSchema = z.object({
  id: z.string(),
  username: z.string(),
  role: z.enum(['admin', 'operator', 'viewer']),
});

export const LoginResponseSchema = z.object({
  token: z.string(),
  expiresAt: z.string(),
  user: UserSchema,
});
export type LoginResponse = z.infer<typeof LoginResponseSchema>;

export const DeviceSchema = z.object({
  id: z.string(),
  name: z.string(),
  fleet: z.string(),
  online: z.boolean(),
  lastSeenAt: z.string().nullable(),
  tags: z.array(z.string()),
  status: z.enum(['active', 'revoked']),
  enrolledAt: z.string(),
  info: z.record(z.string(), z.unknown()),
});
export type Device = z.infer<typeof DeviceSchema>;

export const ProvisioningTokenSchema = z.object({
  id: z.string(),
  fleet: z.string(),
  prefix: z.string(),
  maxUses: z.number(),
  uses: z.number(),
  expiresAt: z.string(),
  revokedAt: z.string().nullable(),
  createdAt: z.string(),
  state: z.enum(['active', 'expired', 'exhausted', 'revoked']),
});
export type ProvisioningToken = z.infer<typeof ProvisioningTokenSchema>;

export const CreatedTokenSchema = ProvisioningTokenSchema.extend({
  token: z.string(),
  agentCommand: z.string(),
});
export type CreatedToken = z.infer<typeof CreatedTokenSchema>;

/* ---- apps and supervision ---------------------------------------------------------------- */

const HUB_SERVICE_STATES = ['PENDING', 'STARTING', 'RUNNING', 'UNHEALTHY', 'EXITED', 'BACKOFF', 'FATAL', 'STOPPING', 'STOPPED', 'UNKNOWN'] as const;

export const ComposeErrorSchema = z.object({
  path: z.string(),
  line: z.number().nullable(),
  message: z.string(),
});
export type ComposeError = z.infer<typeof ComposeErrorSchema>;

export const PlanEntrySchema = z.object({
  device: z.string(),
  app: z.string(),
  service: z.string(),
  change: z.enum(['create', 'recreate', 'remove', 'unchanged']),
  fields: z.array(z.string()).optional(),
});
export type PlanEntry = z.infer<typeof PlanEntrySchema>;

export const ReleaseSchema = z.object({
  app: z.string(),
  fleet: z.string(),
  number: z.number(),
  device: z.string().nullable(),
  compose: z.string(),
  rollbackOf: z.number().nullable(),
  removed: z.boolean(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
  current: z.boolean(),
});
export type Release = z.infer<typeof ReleaseSchema>;

export const ApplyAppResultSchema = z.object({
  app: z.string(),
  fleet: z.string(),
  release: ReleaseSchema.optional(),
  plan: z.array(PlanEntrySchema),
  dryRun: z.boolean(),
});
export type ApplyAppResult = z.infer<typeof ApplyAppResultSchema>;

export const AppSummarySchema = z.object({
  name: z.string(),
  fleet: z.string(),
  release: z.number().nullable(),
  services: z.array(z.string()),
  overrides: z.array(z.string()),
  updatedAt: z.string(),
});
export type AppSummary = z.infer<typeof AppSummarySchema>;

export const ServiceRecordSchema = z.object({
  deviceId: z.string(),
  device: z.string(),
  app: z.string(),
  service: z.string(),
  state: z.enum(HUB_SERVICE_STATES),
  reportedState: z.string().nullable(),
  release: z.number().nullable(),
  image: z.string().nullable(),
  since: z.string().nullable(),
  startedAt: z.string().nullable(),
  restarts: z.number(),
  exitCode: z.number().nullable(),
  oomKilled: z.boolean(),
  health: z.enum(['starting', 'healthy', 'unhealthy']).nullable(),
  crashLoop: z.boolean(),
  nextStartAt: z.string().nullable(),
  pausedUntil: z.string().nullable(),
  stopped: z.boolean(),
  pull: z.object({ done: z.number(), total: z.number() }).nullable(),
  message: z.string().nullable(),
});
export type ServiceRecord = z.infer<typeof ServiceRecordSchema>;

export const DeviceContainersSchema = z.object({
  deviceId: z.string(),
  device: z.string(),
  online: z.boolean(),
  desiredVersion: z.number(),
  reportedVersion: z.number().nullable(),
  appliedVersion: z.number().nullable(),
  engine: z.enum(['up', 'down']).nullable(),
  error: z
    .object({ code: z.string(), message: z.string(), app: z.string().optional(), service: z.string().optional(), at: z.string() })
    .nullable(),
  reportedAt: z.string().nullable(),
  services: z.array(ServiceRecordSchema),
});
export type DeviceContainers = z.infer<typeof DeviceContainersSchema>;

export const ServiceEventSchema = z.object({
  eventId: z.string(),
  deviceId: z.string(),
  app: z.string(),
  service: z.string(),
  from: z.string(),
  to: z.string(),
  reason: z.string(),
  at: z.string(),
  exitCode: z.number().nullable(),
  oomKilled: z.boolean(),
  runMs: z.number().nullable(),
  restarts: z.number().nullable(),
  delayMs: z.number().nullable(),
  crashLoop: z.boolean(),
  logTail: z.array(z.string()),
  message: z.string().nullable(),
  receivedAt: z.string().optional(),
});
export type ServiceEvent = z.infer<typeof ServiceEventSchema>;

export const AuditEntrySchema = z.object({
  id: z.number(),
  at: z.string(),
  actor: z.string(),
  action: z.string(),
  targetType: z.string(),
  target: z.string(),
  result: z.enum(['ok', 'error']),
  detail: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export const ImageBundleSchema = z.object({
  id: z.string(),
  refs: z.array(z.string()),
  sha256: z.string(),
  size: z.number(),
  chunkSize: z.number(),
  chunkCount: z.number(),
  uploadedBy: z.string().nullable(),
  createdAt: z.string(),
});
export type ImageBundle = z.infer<typeof ImageBundleSchema>;

/**
 * Compile-time only: each contract type must be assignable to what the CLI's schema reads, so a
 * field the CLI relies on cannot be renamed, dropped or retyped in the contract without this file
 * failing to build. Fields the contract adds are fine (the schemas ignore them).
 */
type Reads<T extends R, R> = [T, R];
export type ContractChecks = [
  Reads<Contract.User, z.infer<typeof UserSchema>>,
  Reads<Contract.LoginResponse, LoginResponse>,
  Reads<Contract.Device, Device>,
  Reads<Contract.ProvisioningToken, ProvisioningToken>,
  Reads<Contract.CreatedToken, CreatedToken>,
  Reads<Contract.ComposeError, ComposeError>,
  Reads<Contract.PlanEntry, PlanEntry>,
  Reads<Contract.Release, Release>,
  Reads<Contract.ApplyAppResult, ApplyAppResult>,
  Reads<Contract.AppSummary, AppSummary>,
  Reads<Contract.ServiceRecord, ServiceRecord>,
  Reads<Contract.DeviceContainers, DeviceContainers>,
  Reads<Contract.ServiceEvent, ServiceEvent>,
  Reads<Contract.AuditEntry, AuditEntry>,
  Reads<Contract.ImageBundle, ImageBundle>,
];

/** Request bodies the CLI sends, typed by the contract itself. */
export type ApplyAppRequest = Contract.ApplyAppRequest;
export type RollbackRequest = Contract.RollbackRequest;
export type ServiceActionRequest = Contract.ServiceActionRequest;
export type ServiceAction = Contract.ServiceAction;
