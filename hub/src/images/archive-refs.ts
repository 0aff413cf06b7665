import type { FileHandle } from 'node:fs/promises';
import { z } from 'zod';
import { indexTar, readEntry, TarError, type TarEntry } from './tar-index.js';

/**
 * What an image archive says it holds: the image references (repo:tag) of `docker save`'s
 * manifest.json, or of an OCI archive's index.json annotations. The archive is checked as far
 * as it is cheap: it is tar, its manifest parses, and the files the manifest names are in it.
 */

export class InvalidArchive extends Error {}

/** manifest.json and index.json are a few hundred bytes per image. */
const MAX_MANIFEST_BYTES = 1024 * 1024;
const MAX_IMAGES = 256;
export const MAX_REFS = 64;
/** Same bound as a service's `image` in the protocol, so every ref can be used as one. */
const MAX_REF_LENGTH = 512;
/** registry/name:tag or name@digest; nothing a log line or a database column would choke on. */
const REF_PATTERN = /^[a-z0-9][a-z0-9._/:@-]*$/i;

/** docker-archive: `[{ Config, RepoTags, Layers }]`. Unknown keys (LayerSources, ...) are ignored. */
const DockerManifestSchema = z
  .array(
    z.object({
      Config: z.string().min(1).max(4096),
      RepoTags: z.array(z.string().max(4096)).max(MAX_REFS).nullable().optional(),
      Layers: z.array(z.string().min(1).max(4096)).max(4096),
    }),
  )
  .min(1)
  .max(MAX_IMAGES);

const REF_ANNOTATIONS = ['io.containerd.image.name', 'org.opencontainers.image.ref.name'] as const;

const OciIndexSchema = z.object({
  schemaVersion: z.literal(2),
  manifests: z
    .array(
      z.object({
        digest: z.string().regex(/^sha256:[a-f0-9]{64}$/),
        annotations: z.record(z.string(), z.string()).optional(),
      }),
    )
    .min(1)
    .max(MAX_IMAGES),
});

function parseJson(data: Buffer, name: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw new InvalidArchive(`${name} in the archive is not valid JSON`);
  }
}

function checkRefs(refs: string[]): string[] {
  const unique = [...new Set(refs)];
  if (unique.length === 0) {
    throw new InvalidArchive('the archive names no image (save it by name: `docker save repo:tag -o app.tar`)');
  }
  if (unique.length > MAX_REFS) throw new InvalidArchive(`the archive names more than ${MAX_REFS} images`);
  for (const r of unique) {
    if (r.length > MAX_REF_LENGTH || !REF_PATTERN.test(r)) throw new InvalidArchive(`the archive names an image reference that is not valid: ${JSON.stringify(r.slice(0, 80))}`);
  }
  return unique;
}

async function dockerRefs(fh: FileHandle, entry: TarEntry, names: Set<string>): Promise<string[]> {
  const r = DockerManifestSchema.safeParse(parseJson(await readEntry(fh, entry, MAX_MANIFEST_BYTES), 'manifest.json'));
  if (!r.success) throw new InvalidArchive('manifest.json is not a `docker save` manifest (an array of { Config, RepoTags, Layers })');
  for (const image of r.data) {
    for (const file of [image.Config, ...image.Layers]) {
      if (!names.has(file.replace(/^(\.\/)+/, ''))) throw new InvalidArchive(`manifest.json names ${JSON.stringify(file.slice(0, 120))}, which is not in the archive (truncated or hand-made?)`);
    }
  }
  return r.data.flatMap((i) => i.RepoTags ?? []);
}

async function ociRefs(fh: FileHandle, entry: TarEntry, names: Set<string>): Promise<string[]> {
  const r = OciIndexSchema.safeParse(parseJson(await readEntry(fh, entry, MAX_MANIFEST_BYTES), 'index.json'));
  if (!r.success) throw new InvalidArchive('index.json is not an OCI image index');
  const refs: string[] = [];
  for (const m of r.data.manifests) {
    const blob = `blobs/sha256/${m.digest.slice('sha256:'.length)}`;
    if (!names.has(blob)) throw new InvalidArchive(`index.json names ${m.digest}, which is not in the archive`);
    const ref = REF_ANNOTATIONS.map((k) => m.annotations?.[k]).find((v) => v !== undefined);
    if (ref !== undefined) refs.push(ref);
  }
  return refs;
}

/** The image refs the archive holds. Throws InvalidArchive with a message for the operator. */
export async function readArchiveRefs(fh: FileHandle, fileSize: number): Promise<string[]> {
  try {
    return await refsOf(fh, fileSize);
  } catch (e) {
    if (e instanceof TarError) throw new InvalidArchive(e.message);
    throw e;
  }
}

async function refsOf(fh: FileHandle, fileSize: number): Promise<string[]> {
  const entries = await indexTar(fh, fileSize);
  const names = new Set(entries.map((e) => e.name));
  const find = (name: string) => entries.find((e) => e.name === name && e.type === '0');
  const manifest = find('manifest.json');
  // Docker 25+ writes both; manifest.json is what every engine's load reads the tags from.
  if (manifest) return checkRefs(await dockerRefs(fh, manifest, names));
  const index = find('index.json');
  if (index) return checkRefs(await ociRefs(fh, index, names));
  throw new InvalidArchive('the tar archive has neither manifest.json (docker save) nor index.json (OCI): not an image archive');
}
