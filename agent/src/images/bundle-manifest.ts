import { z } from 'zod';

/**
 * The hub's answer to GET /api/images/:id/manifest (BundleManifest in the hub's HTTP contract),
 * validated before anything is downloaded: the chunk list must cover exactly `size` bytes, and
 * pieces are bounded so one chunk always fits in memory.
 */

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/);
/** The hub's own bounds for PIFLEET_IMAGE_CHUNK_BYTES. */
export const MIN_CHUNK = 4096;
export const MAX_CHUNK = 64 * 1024 * 1024;

export const BundleManifestSchema = z
  .object({
    id: z.string().min(1).max(64),
    refs: z.array(z.string().min(1).max(512)).max(64),
    sha256: sha256Hex,
    size: z.number().int().positive(),
    chunkSize: z.number().int().min(MIN_CHUNK).max(MAX_CHUNK),
    chunks: z.array(sha256Hex).min(1).max(1_000_000),
  })
  .refine((m) => m.chunks.length === Math.ceil(m.size / m.chunkSize), { message: 'the chunk list does not cover the bundle size' });

export type BundleManifest = z.output<typeof BundleManifestSchema>;

/** A manifest of a million chunks is ~70 MB of JSON; past this it is not one the hub would send. */
export const MAX_MANIFEST_BYTES = 80 * 1024 * 1024;

/** Byte length of chunk `n`. */
export function chunkLength(m: BundleManifest, n: number): number {
  return Math.min(m.chunkSize, m.size - n * m.chunkSize);
}
