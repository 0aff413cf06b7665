import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { serviceEvents } from '../db/schema.js';

export type EventRow = typeof serviceEvents.$inferInsert & { deviceId: string; eventId: string };
export type StoredEvent = typeof serviceEvents.$inferSelect;

/** service_events: the restart history, one row per supervision transition a device reported. */
@Injectable()
export class ServiceEventsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  /**
   * Inserts what is new; an event already stored (same device and event id: a QoS 1 redelivery,
   * an event the agent sent again after a reconnect) is skipped. Returns the rows inserted.
   */
  async insert(rows: EventRow[]): Promise<{ deviceId: string; eventId: string }[]> {
    if (rows.length === 0) return [];
    return this.db
      .insert(serviceEvents)
      .values(rows)
      .onConflictDoNothing({ target: [serviceEvents.deviceId, serviceEvents.eventId] })
      .returning({ deviceId: serviceEvents.deviceId, eventId: serviceEvents.eventId });
  }

  /** Newest first (by when it happened, then by the device's sequence). */
  async history(deviceId: string, app: string, service: string, limit: number): Promise<StoredEvent[]> {
    return this.db
      .select()
      .from(serviceEvents)
      .where(and(eq(serviceEvents.deviceId, deviceId), eq(serviceEvents.app, app), eq(serviceEvents.service, service)))
      .orderBy(desc(serviceEvents.at), desc(serviceEvents.seq))
      .limit(limit);
  }

  async deleteOlder(before: Date): Promise<number> {
    return rowCount(await this.db.execute(sql`DELETE FROM service_events WHERE at < ${before.toISOString()}::timestamptz`));
  }

  /** Keeps the newest `keep` events of one service (walks the (device, app, service, at) index). */
  async trim(deviceId: string, app: string, service: string, keep: number): Promise<number> {
    const res = await this.db.execute(sql`
      DELETE FROM service_events WHERE device_id = ${deviceId} AND event_id IN (
        SELECT event_id FROM service_events
        WHERE device_id = ${deviceId} AND app = ${app} AND service = ${service}
        ORDER BY at DESC, seq DESC OFFSET ${keep})`);
    return rowCount(res);
  }

  /** Keeps the newest `keep` events of every service: a whole-table pass, for when the hub lost track of which grew. */
  async trimAll(keep: number): Promise<number> {
    const res = await this.db.execute(sql`
      DELETE FROM service_events e USING (
        SELECT device_id, event_id FROM (
          SELECT device_id, event_id, row_number() OVER (PARTITION BY device_id, app, service ORDER BY at DESC, seq DESC) AS n
          FROM service_events) ranked
        WHERE n > ${keep}) old
      WHERE e.device_id = old.device_id AND e.event_id = old.event_id`);
    return rowCount(res);
  }
}

/** Affected rows of a raw statement: pg says `rowCount`, PGlite `affectedRows`. */
function rowCount(res: unknown): number {
  const r = res as { rowCount?: number | null; affectedRows?: number };
  return r.rowCount ?? r.affectedRows ?? 0;
}
