import { mkdir, open, rename, rm } from 'node:fs/promises';
import { dirname, join, basename } from 'node:path';
import { randomBytes } from 'node:crypto';

/**
 * Writes `data` so that a reader (or a reboot from a yanked power cable, common on Pis) sees either
 * the old file or the complete new one: temp file in the same directory, fsync, then rename.
 * The temp file is created with the final mode so a secret is never briefly world-readable.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o600): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  const fh = await open(tmp, 'wx', mode);
  try {
    await fh.writeFile(data);
    await fh.chmod(mode); // open() honours the umask; chmod makes the mode exact
    await fh.sync();
  } catch (e) {
    await fh.close();
    await rm(tmp, { force: true });
    throw e;
  }
  await fh.close();
  await rename(tmp, path);
}

/** Creates the directory (and parents) and tightens it to `mode`, as identity files live there. */
export async function ensurePrivateDir(path: string, mode = 0o700): Promise<void> {
  await mkdir(path, { recursive: true, mode });
  const fh = await open(path, 'r');
  try {
    await fh.chmod(mode);
  } finally {
    await fh.close();
  }
}
