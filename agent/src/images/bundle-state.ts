import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-file.js';

/**
 * What the agent keeps about bundles in `<data dir>/images/` (0700, files 0600):
 * - `loaded.json`: bundles already loaded into the engine, with the image refs they gave, so a
 *   restart does not download them again;
 * - `<id>.part` + `<id>.progress.json` while one downloads: the bytes so far and how many
 *   leading chunks of it are verified, so a cut connection or an agent restart resumes there.
 */

export const IMAGES_SUBDIR = 'images';
const LOADED_FILE = 'loaded.json';
/** Bundles remembered as loaded; older entries are forgotten (at worst a bundle is fetched again). */
export const MAX_LOADED = 256;

const sha256Hex = z.string().regex(/^[a-f0-9]{64}$/);
const LoadedEntrySchema = z.object({ sha256: sha256Hex, refs: z.array(z.string().max(512)).max(64), at: z.number() });
const LoadedSchema = z.record(z.string(), LoadedEntrySchema);
export type LoadedEntry = z.output<typeof LoadedEntrySchema>;

const ProgressSchema = z.object({ sha256: sha256Hex, chunkSize: z.number().int().positive(), good: z.number().int().nonnegative() });
export type Progress = z.output<typeof ProgressSchema>;

/** Bundle ids become file names: only the characters the hub's ids use. */
export const SAFE_ID = /^[A-Za-z0-9_-]{1,64}$/;

async function readJson(path: string): Promise<unknown> {
  try {
    return JSON.parse(await readFile(path, 'utf8'));
  } catch {
    return undefined; // missing or torn: treated as nothing known
  }
}

export class BundleState {
  readonly dir: string;
  /** loaded.json is rewritten by one writer at a time (concurrent ensures of different bundles). */
  private loadedChain: Promise<unknown> = Promise.resolve();

  constructor(dataDir: string) {
    this.dir = join(dataDir, IMAGES_SUBDIR);
  }

  init(): Promise<void> {
    return ensurePrivateDir(this.dir);
  }

  partPath(id: string): string {
    return join(this.dir, `${id}.part`);
  }

  private progressPath(id: string): string {
    return join(this.dir, `${id}.progress.json`);
  }

  async loaded(): Promise<Record<string, LoadedEntry>> {
    const r = LoadedSchema.safeParse(await readJson(join(this.dir, LOADED_FILE)));
    return r.success ? r.data : {};
  }

  markLoaded(id: string, entry: LoadedEntry): Promise<void> {
    return this.updateLoaded((all) => {
      all[id] = entry;
      const ids = Object.keys(all).sort((a, b) => all[b]!.at - all[a]!.at);
      for (const old of ids.slice(MAX_LOADED)) delete all[old];
    });
  }

  forgetLoaded(id: string): Promise<void> {
    return this.updateLoaded((all) => {
      delete all[id];
    });
  }

  private updateLoaded(change: (all: Record<string, LoadedEntry>) => void): Promise<void> {
    const next = this.loadedChain.then(async () => {
      const all = await this.loaded();
      change(all);
      await writeFileAtomic(join(this.dir, LOADED_FILE), `${JSON.stringify(all)}\n`);
    });
    this.loadedChain = next.catch(() => undefined);
    return next;
  }

  async progress(id: string): Promise<Progress | undefined> {
    const r = ProgressSchema.safeParse(await readJson(this.progressPath(id)));
    return r.success ? r.data : undefined;
  }

  saveProgress(id: string, p: Progress): Promise<void> {
    return writeFileAtomic(this.progressPath(id), JSON.stringify(p));
  }

  /** Removes a download's partial file and its progress record. */
  async clear(id: string): Promise<void> {
    await rm(this.partPath(id), { force: true });
    await rm(this.progressPath(id), { force: true });
  }
}
