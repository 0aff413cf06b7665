import { access, mkdir } from 'node:fs/promises';
import { constants } from 'node:fs';
import { resolve } from 'node:path';

/** The Docker image's volume; where a packaged agent keeps its identity. */
export const SYSTEM_DATA_DIR = '/var/lib/pifleet';
/** Fallback for a developer running the agent unprivileged from a checkout. */
export const LOCAL_DATA_DIR = './agent-data';

async function writable(dir: string): Promise<boolean> {
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await access(dir, constants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * An explicit --data-dir is used as given (failures surface later with the real error).
 * Otherwise /var/lib/pifleet when it is (or can be made) writable, else ./agent-data — so
 * `npx pifleet-agent` works as a normal user without a silent identity in an odd place:
 * the chosen directory is logged at start.
 */
export async function resolveDataDir(explicit: string | undefined): Promise<{ dir: string; fallback: boolean }> {
  if (explicit) return { dir: resolve(explicit), fallback: false };
  if (await writable(SYSTEM_DATA_DIR)) return { dir: SYSTEM_DATA_DIR, fallback: false };
  return { dir: resolve(LOCAL_DATA_DIR), fallback: true };
}
