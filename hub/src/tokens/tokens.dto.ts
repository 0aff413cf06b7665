import { z } from 'zod';
import { NAME_PATTERN } from '@pifleet/protocol';

export const CreateTokenSchema = z.object({
  fleet: z.string().regex(NAME_PATTERN).default('default'),
  maxUses: z.number().int().min(1).max(100_000).default(1),
  /** One minute to one year. */
  ttlSeconds: z.number().int().min(60).max(366 * 86400).default(86400),
});
export type CreateTokenInput = z.infer<typeof CreateTokenSchema>;
