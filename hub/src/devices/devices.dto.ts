import { z } from 'zod';
import { MAX_TAGS, NAME_PATTERN, TAG_PATTERN } from '@pifleet/protocol';

const Tag = z.string().regex(TAG_PATTERN, 'tags: letters, digits, . _ : = - (max 63)');
const Tags = z.array(Tag).max(MAX_TAGS, `at most ${MAX_TAGS} tags`);

export const UpdateDeviceSchema = z
  .object({
    name: z.string().regex(NAME_PATTERN, 'name: letters, digits, . _ - (max 63), starting with a letter or digit').optional(),
    tags: Tags.optional(),
    addTags: Tags.optional(),
    removeTags: Tags.optional(),
  })
  .strict()
  .refine((b) => Object.values(b).some((v) => v !== undefined), 'nothing to change')
  .refine((b) => !(b.tags && (b.addTags || b.removeTags)), 'use either tags or addTags/removeTags');
export type UpdateDeviceInput = z.infer<typeof UpdateDeviceSchema>;

export const DeviceQuerySchema = z.object({
  q: z.string().max(100).optional(),
  tag: z.string().max(64).optional(),
  fleet: z.string().max(64).optional(),
  online: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
});
export type DeviceQuery = z.infer<typeof DeviceQuerySchema>;

/** History window; at most 31 days in one call (the 1-minute rollups are kept 30 days). */
export const TelemetryQuerySchema = z
  .object({
    from: z.iso.datetime({ offset: true }).optional(),
    to: z.iso.datetime({ offset: true }).optional(),
    resolution: z.enum(['raw', '1m', 'auto']).default('auto'),
  })
  .transform((q) => {
    const to = q.to ? new Date(q.to) : new Date();
    const from = q.from ? new Date(q.from) : new Date(to.getTime() - 3600_000);
    return { from, to, resolution: q.resolution };
  })
  .refine((q) => q.from < q.to, 'from must be before to')
  .refine((q) => q.to.getTime() - q.from.getTime() <= 31 * 86400_000, 'window is longer than 31 days');
export type TelemetryQuery = z.infer<typeof TelemetryQuerySchema>;

/** Applies a tag update: replace, or add then remove; keeps order, drops duplicates. */
export function nextTags(current: string[], u: Pick<UpdateDeviceInput, 'tags' | 'addTags' | 'removeTags'>): string[] {
  const base = u.tags ?? [...current, ...(u.addTags ?? [])];
  const remove = new Set(u.removeTags ?? []);
  return [...new Set(base)].filter((t) => !remove.has(t));
}
