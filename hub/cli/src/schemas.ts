import { z } from 'zod';

/**
 * Shapes of the hub responses the CLI reads (hub/src/contract.ts is the source of truth; it
 * cannot be imported across the rootDir boundary, and validating here turns a hub/CLI version
 * mismatch into a clear error instead of `undefined` in a table). zod drops unknown keys, which
 * also keeps `--json` output stable when the hub adds fields.
 */
export const ApiErrorSchema = z.object({ code: z.string(), message: z.string() });

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
