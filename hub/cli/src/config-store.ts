import { chmod, mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { CliError } from './errors.js';

/**
 * The login lives in `$PIFLEET_CONFIG/config.json` (default `~/.config/pifleet/`), the one place
 * the CLI writes its API token: the file is 0600 and its directory 0700 when we create it.
 */
export const StoredLoginSchema = z.object({
  hub: z.string(),
  token: z.string(),
  user: z.string(),
  expiresAt: z.string(),
});
export type StoredLogin = z.infer<typeof StoredLoginSchema>;

export function configDir(env: NodeJS.ProcessEnv): string {
  const dir = env['PIFLEET_CONFIG'];
  return dir !== undefined && dir !== '' ? dir : join(homedir(), '.config', 'pifleet');
}

export class ConfigStore {
  readonly file: string;

  constructor(readonly dir: string) {
    this.file = join(dir, 'config.json');
  }

  /** Returns undefined when nobody logged in; a corrupt file is an error rather than a silent logout. */
  async load(): Promise<StoredLogin | undefined> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new CliError(`cannot read ${this.file}: ${(err as Error).message}`);
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch {
      throw new CliError(`${this.file} is not valid JSON; delete it and run: pifleet login`);
    }
    const parsed = StoredLoginSchema.safeParse(data);
    if (!parsed.success) throw new CliError(`${this.file} has an unexpected shape; delete it and run: pifleet login`);
    return parsed.data;
  }

  /**
   * Writes a temp file created 0600 (so the token is never readable by others, not even for a
   * moment) and renames it over config.json, so a crash never leaves half a file.
   */
  async save(login: StoredLogin): Promise<void> {
    await mkdir(this.dir, { recursive: true, mode: 0o700 });
    const tmp = `${this.file}.${process.pid}.tmp`;
    const fh = await open(tmp, 'w', 0o600);
    try {
      await fh.writeFile(JSON.stringify(login, null, 2) + '\n');
      await fh.sync();
    } finally {
      await fh.close();
    }
    // open() honours the umask only to remove bits, but an existing tmp file keeps its old mode.
    await chmod(tmp, 0o600);
    await rename(tmp, this.file);
  }

  /** Returns whether there was a login to remove. */
  async clear(): Promise<boolean> {
    const had = (await this.load().catch(() => 'corrupt' as const)) !== undefined;
    await rm(this.file, { force: true });
    return had;
  }
}
