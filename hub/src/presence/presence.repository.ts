import { Inject, Injectable } from '@nestjs/common';
import { and, count, eq, inArray, lte } from 'drizzle-orm';
import type { StatusMessage } from '@pifleet/protocol';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { devices } from '../db/schema.js';

export type ApplyResult = 'applied' | 'stale' | 'unknown' | 'revoked';

/** Presence columns of the devices table; all writes are single conditional statements. */
@Injectable()
export class PresenceRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  /** Embedded broker at boot: nobody can be connected yet. Returns the ids that changed. */
  async markAllOffline(): Promise<string[]> {
    const rows = await this.db.update(devices).set({ online: false }).where(eq(devices.online, true)).returning({ id: devices.id });
    return rows.map((r) => r.id);
  }

  /**
   * Applies a status message unless an equal-or-newer session is already recorded as newer
   * (a stale Will from an older session must not mark a newer session offline).
   * The session check is in the WHERE clause, so concurrent messages cannot race past it.
   */
  async apply(deviceId: string, msg: StatusMessage): Promise<ApplyResult> {
    const online = msg.state === 'online';
    const rows = await this.db
      .update(devices)
      .set({
        online,
        session: msg.session,
        // An offline (often the Will) says when the broker gave up, not when we last heard it.
        ...(online ? { lastSeenAt: new Date() } : {}),
        ...(online && msg.info ? { info: msg.info as Record<string, unknown> } : {}),
      })
      .where(and(eq(devices.id, deviceId), eq(devices.status, 'active'), lte(devices.session, msg.session)))
      .returning({ id: devices.id });
    if (rows.length > 0) return 'applied';
    const [row] = await this.db.select({ status: devices.status }).from(devices).where(eq(devices.id, deviceId)).limit(1);
    if (!row) return 'unknown';
    return row.status === 'revoked' ? 'revoked' : 'stale';
  }

  /** Batched last-seen refresh from telemetry traffic. */
  async touch(deviceIds: string[], at: Date): Promise<void> {
    if (deviceIds.length === 0) return;
    await this.db
      .update(devices)
      .set({ lastSeenAt: at })
      .where(and(inArray(devices.id, deviceIds), eq(devices.status, 'active')));
  }

  async countOnline(): Promise<number> {
    const [r] = await this.db.select({ n: count() }).from(devices).where(eq(devices.online, true));
    return Number(r?.n ?? 0);
  }
}
