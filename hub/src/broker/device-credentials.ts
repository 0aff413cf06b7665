import { timingSafeEqual } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { sha256 } from '../common/ids.js';
import type { Db } from '../db/client.js';
import { devices } from '../db/schema.js';

interface Entry {
  hash: string | null; // null: unknown or revoked device
  expires: number;
}

const TTL_MS = 10_000;
const MAX_ENTRIES = 20_000;
const MAX_TOMBSTONES = 100_000;

/**
 * Checks device MQTT credentials against the devices table. Lookups are cached briefly because a
 * reconnect storm after a hub restart would otherwise hit the DB once per CONNECT; `forget` and
 * `revoke` act at once so revocation never waits for the TTL. Revoked ids are also kept as
 * tombstones, so a reconnect racing the DB update that marks the row revoked is still refused.
 */
export class DeviceCredentials {
  private readonly cache = new Map<string, Entry>();
  private readonly tombstones = new Set<string>();

  constructor(
    private readonly db: Db,
    private readonly now: () => number = Date.now,
  ) {}

  async verify(deviceId: string, password: Buffer | undefined): Promise<boolean> {
    if (!password || password.length === 0 || this.tombstones.has(deviceId)) return false;
    const hash = await this.lookup(deviceId);
    if (hash === null || this.tombstones.has(deviceId)) return false;
    const a = Buffer.from(sha256(password.toString('utf8')), 'hex');
    const b = Buffer.from(hash, 'hex');
    return a.length === b.length && timingSafeEqual(a, b);
  }

  /** A device was (re)added: drop any stale cached answer. */
  forget(deviceId: string): void {
    this.cache.delete(deviceId);
    this.tombstones.delete(deviceId);
  }

  revoke(deviceId: string): void {
    this.cache.delete(deviceId);
    if (this.tombstones.size >= MAX_TOMBSTONES) {
      // Oldest first (Set keeps insertion order); the DB status stays the authority for those.
      const oldest = this.tombstones.values().next().value;
      if (oldest !== undefined) this.tombstones.delete(oldest);
    }
    this.tombstones.add(deviceId);
  }

  private async lookup(deviceId: string): Promise<string | null> {
    const now = this.now();
    const hit = this.cache.get(deviceId);
    if (hit && hit.expires > now) return hit.hash;
    const rows = await this.db
      .select({ hash: devices.mqttSecretHash, status: devices.status })
      .from(devices)
      .where(eq(devices.id, deviceId))
      .limit(1);
    const row = rows[0];
    const hash = row && row.status === 'active' ? row.hash : null;
    if (this.cache.size >= MAX_ENTRIES) {
      const oldest = this.cache.keys().next().value;
      if (oldest !== undefined) this.cache.delete(oldest);
    }
    this.cache.set(deviceId, { hash, expires: now + TTL_MS });
    return hash;
  }
}
