import { z } from 'zod';

const UNIT_MS = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 } as const;

/** `since` is an ISO 8601 time or a span back from now: `90s`, `15m`, `1h`, `7d`. */
export function parseSince(value: string, now = Date.now()): Date | null {
  const rel = /^(\d{1,6})([smhd])$/.exec(value);
  if (rel) return new Date(now - Number(rel[1]) * UNIT_MS[rel[2] as keyof typeof UNIT_MS]);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value)) return null;
  const t = Date.parse(value);
  return Number.isNaN(t) ? null : new Date(t);
}

export const AuditQuerySchema = z.object({
  since: z
    .string()
    .max(64)
    .optional()
    .transform((v, ctx) => {
      if (v === undefined) return undefined;
      const d = parseSince(v);
      if (!d) ctx.addIssue({ code: 'custom', message: 'an ISO 8601 time or a span such as 30m, 1h, 7d' });
      return d ?? undefined;
    }),
  actor: z.string().min(1).max(64).optional(),
  target: z.string().min(1).max(256).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
});
export type AuditQuery = z.output<typeof AuditQuerySchema>;
