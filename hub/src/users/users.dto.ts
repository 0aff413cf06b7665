import { z } from 'zod';

export const USERNAME_PATTERN = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const RoleSchema = z.enum(['admin', 'operator', 'viewer']);

export const CreateUserSchema = z.object({
  username: z.string().regex(USERNAME_PATTERN, 'lowercase letters, digits, . _ - (max 63)'),
  password: z.string().min(8, 'at least 8 characters').max(256),
  role: RoleSchema,
});
