import { z } from 'zod';
import { NAME_PATTERN } from '@pifleet/protocol';
import type { ServiceAction } from '../contract.js';

const ACTIONS = ['start', 'stop', 'restart', 'reset', 'pause', 'resume'] as const satisfies readonly ServiceAction[];
const NAME_HINT = 'letters, digits, . _ - (max 63), starting with a letter or digit';

/** App and service names in a path (`/services/:app/:service/history`). */
export const EntryNameSchema = z.string().regex(NAME_PATTERN, NAME_HINT);

export const HistoryQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
});

export const ServiceActionSchema = z
  .object({
    action: z.enum(ACTIONS),
    app: z.string().regex(NAME_PATTERN, `app: ${NAME_HINT}`).optional(),
    service: z.string().regex(NAME_PATTERN, `service: ${NAME_HINT}`).optional(),
    minutes: z.number().int().min(1).max(1440).optional(),
  })
  .strict()
  .refine((b) => b.service === undefined || b.app !== undefined, 'a service needs its app')
  .refine((b) => (b.action === 'pause') === (b.minutes !== undefined), 'minutes (1..1440) go with pause, and only with pause');

export const AlertsQuerySchema = z.object({
  open: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
  device: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(200),
});
export type AlertsQuery = z.output<typeof AlertsQuerySchema>;
