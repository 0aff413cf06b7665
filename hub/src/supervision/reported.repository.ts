import { Inject, Injectable } from '@nestjs/common';
import { eq, inArray, sql } from 'drizzle-orm';
import type { StateReportedMessage } from '@pifleet/protocol';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { deviceReported } from '../db/schema.js';

export interface ReportedRow {
  deviceId: string;
  /** The validated message, envelope included: its `ts` orders reports of one device. */
  state: StateReportedMessage;
  receivedAt: Date;
}

/** device_reported: the newest reported state of each device. */
@Injectable()
export class ReportedRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  /**
   * Upserts where the row is not older than the stored one (by envelope ts), so a late
   * redelivery or a stale retained copy never replaces a newer report. Returns the devices whose
   * row was written. Idempotent: writing the same row again changes nothing visible.
   */
  async upsert(rows: ReportedRow[]): Promise<string[]> {
    if (rows.length === 0) return [];
    const written = await this.db
      .insert(deviceReported)
      .values(rows.map((r) => ({ deviceId: r.deviceId, state: r.state as unknown as Record<string, unknown>, receivedAt: r.receivedAt })))
      .onConflictDoUpdate({
        target: deviceReported.deviceId,
        set: { state: sql`excluded.state`, receivedAt: sql`excluded.received_at` },
        setWhere: sql`(${deviceReported.state}->>'ts')::bigint <= (excluded.state->>'ts')::bigint`,
      })
      .returning({ deviceId: deviceReported.deviceId });
    return written.map((w) => w.deviceId);
  }

  async get(deviceId: string): Promise<ReportedRow | undefined> {
    const [r] = await this.db.select().from(deviceReported).where(eq(deviceReported.deviceId, deviceId));
    return r && toRow(r);
  }

  /** The devices (of `deviceIds`) whose report has a crash-looping or FATAL service, filtered in SQL. */
  async troubled(deviceIds: string[]): Promise<ReportedRow[]> {
    if (deviceIds.length === 0) return [];
    const rows = await this.db
      .select()
      .from(deviceReported)
      .where(
        sql`${inArray(deviceReported.deviceId, deviceIds)} AND jsonb_path_exists(${deviceReported.state}, '$.apps.*.* ? (@.crashLoop == true || @.state == "FATAL")')`,
      );
    return rows.map(toRow);
  }

  /** Every device with a stored report (a few thousand ids at most: one per device). */
  async deviceIds(): Promise<string[]> {
    return (await this.db.select({ id: deviceReported.deviceId }).from(deviceReported)).map((r) => r.id);
  }
}

function toRow(r: typeof deviceReported.$inferSelect): ReportedRow {
  return { deviceId: r.deviceId, state: r.state as unknown as StateReportedMessage, receivedAt: r.receivedAt };
}
