import { z } from 'zod';

export const LoginSchema = z.object({
  username: z.string().min(1).max(64),
  password: z.string().min(1).max(256),
  kind: z.enum(['session', 'cli']).default('session'),
});
export type LoginInput = z.infer<typeof LoginSchema>;

export const SESSION_COOKIE = 'pifleet_session';
