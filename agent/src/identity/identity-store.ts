import { chmod, lstat, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { EnrollResponseSchema } from '@pifleet/protocol';
import { ensurePrivateDir, writeFileAtomic } from '../util/atomic-file.js';
import { generateDeviceKey, loadDeviceKey, type DeviceKey } from './ssh-key.js';

/** identity.json: the hub's EnrollResponse plus where and when we enrolled. Holds the MQTT secret. */
export const IdentitySchema = EnrollResponseSchema.extend({
  hub: z.string().optional(),
  enrolledAt: z.number().int(),
});
export type Identity = z.infer<typeof IdentitySchema>;

export const IDENTITY_FILE = 'identity.json';
export const KEY_FILE = 'device-key.pem';
export const SESSION_FILE = 'session';

function isMissing(e: unknown): boolean {
  return (e as NodeJS.ErrnoException).code === 'ENOENT';
}

/**
 * Everything the agent persists, all in one private directory (0700, files 0600):
 * the device key, the enrolled identity, and the MQTT session counter.
 */
export class IdentityStore {
  constructor(readonly dir: string) {}

  /**
   * Creates the directory 0700 and brings the store's own files back to 0600: new files are always
   * written 0600 whatever the umask, but an identity restored from a backup (plain `cp`, an
   * unpacked archive) comes back with whatever mode that left. Other files are not ours to change.
   */
  async init(): Promise<void> {
    await ensurePrivateDir(this.dir);
    for (const name of [IDENTITY_FILE, KEY_FILE, SESSION_FILE]) {
      const path = join(this.dir, name);
      const st = await lstat(path).catch((e: unknown) => {
        if (isMissing(e)) return undefined;
        throw e;
      });
      // lstat, and files only: a symlink's target may be anything, and chmod would follow it.
      if (st?.isFile() && (st.mode & 0o077) !== 0) await chmod(path, st.mode & 0o700);
    }
  }

  /** The stored identity, undefined before enrollment; a corrupt file is an error, never re-enrolment. */
  async loadIdentity(): Promise<Identity | undefined> {
    let text: string;
    try {
      text = await readFile(join(this.dir, IDENTITY_FILE), 'utf8');
    } catch (e) {
      if (isMissing(e)) return undefined;
      throw e;
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(`${IDENTITY_FILE} in ${this.dir} is not valid JSON; remove it to enroll again`);
    }
    const r = IdentitySchema.safeParse(json);
    if (!r.success) throw new Error(`${IDENTITY_FILE} in ${this.dir} is invalid; remove it to enroll again`);
    return r.data;
  }

  async saveIdentity(identity: Identity): Promise<void> {
    await writeFileAtomic(join(this.dir, IDENTITY_FILE), `${JSON.stringify(identity, null, 2)}\n`);
  }

  /**
   * The device key, generated on first use. Kept across failed enrollment attempts so every retry
   * presents the same public key, and the hub never sees two keys for one device.
   */
  async loadOrCreateKey(): Promise<{ key: DeviceKey; created: boolean }> {
    const path = join(this.dir, KEY_FILE);
    try {
      return { key: loadDeviceKey(await readFile(path, 'utf8')), created: false };
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    const key = generateDeviceKey();
    await writeFileAtomic(path, key.privatePem);
    return { key, created: true };
  }

  /**
   * Next MQTT session number, persisted before it is used: a crash right after connecting must not
   * let the next start reuse the number, or the hub could take a stale Will for the new session.
   */
  async nextSession(): Promise<number> {
    const path = join(this.dir, SESSION_FILE);
    let current = 0;
    try {
      const n = Number.parseInt(await readFile(path, 'utf8'), 10);
      if (Number.isSafeInteger(n) && n >= 0) current = n;
    } catch (e) {
      if (!isMissing(e)) throw e;
    }
    const next = current + 1;
    await writeFileAtomic(path, `${next}\n`);
    return next;
  }
}
