import { z } from 'zod';
import { NAME_PATTERN, entryName } from '@pifleet/protocol';
import type { ServiceActionRequest } from '../contract.js';
import { MAX_COMPOSE_BYTES, MAX_ENV_FILE_BYTES } from './compose/limits.js';

/** Most env files one apply may carry. */
const MAX_ENV_FILES = 32;

export const ApplyAppSchema = z
  .object({
    name: entryName.optional(),
    compose: z.string().min(1).max(MAX_COMPOSE_BYTES),
    envFiles: z
      .record(z.string().min(1).max(1024), z.string().max(MAX_ENV_FILE_BYTES))
      .refine((r) => Object.keys(r).length <= MAX_ENV_FILES, { message: `at most ${MAX_ENV_FILES} env files` })
      .default({}),
    fleet: z.string().regex(NAME_PATTERN).optional(),
    device: z.string().min(1).max(64).optional(),
    dryRun: z.boolean().default(false),
  })
  .refine((r) => (r.fleet === undefined) !== (r.device === undefined), { message: 'give exactly one of fleet and device' });
export type ApplyAppInput = z.output<typeof ApplyAppSchema>;

export const RollbackSchema = z.object({
  /** Release numbers are int4 in the database. */
  release: z.number().int().positive().max(2_147_483_647),
  device: z.string().min(1).max(64).optional(),
});
export type RollbackInput = z.output<typeof RollbackSchema>;

export const RemoveQuerySchema = z.object({ device: z.string().min(1).max(64).optional() });
export const AppsQuerySchema = z.object({ fleet: z.string().regex(NAME_PATTERN).optional() });

/** Variable names as compose interpolation reads them (`${NAME}`). */
export const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const MAX_VARIABLES = 256;

export const VariablesSchema = z
  .record(z.string().regex(VARIABLE_NAME, 'variable names are letters, digits and _ (not starting with a digit)'), z.string().max(4096))
  .refine((r) => Object.keys(r).length <= MAX_VARIABLES, { message: `at most ${MAX_VARIABLES} variables` });

export const PAUSE_MINUTES = { min: 1, max: 1440 } as const;

export const ServiceActionSchema = z
  .object({
    action: z.enum(['start', 'stop', 'restart', 'reset', 'pause', 'resume']),
    app: entryName.optional(),
    service: entryName.optional(),
    minutes: z.number().int().min(PAUSE_MINUTES.min).max(PAUSE_MINUTES.max).optional(),
  })
  .refine((r) => r.service === undefined || r.app !== undefined, { message: 'service needs its app' })
  .refine((r) => r.action !== 'pause' || r.minutes !== undefined, { message: `pause needs minutes (${PAUSE_MINUTES.min}..${PAUSE_MINUTES.max})` });
export type ServiceActionInput = ServiceActionRequest;
