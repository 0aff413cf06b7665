import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, isNotNull, isNull, sql, type SQL } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { alerts } from '../db/schema.js';

export type AlertRow = typeof alerts.$inferSelect;

/** The alerts table. app and service are '' (not null) for device-wide alerts, so they can be keys. */
@Injectable()
export class AlertsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async open(): Promise<AlertRow[]> {
    return this.db.select().from(alerts).where(isNull(alerts.resolvedAt));
  }

  async insert(row: typeof alerts.$inferInsert): Promise<AlertRow> {
    const [r] = await this.db.insert(alerts).values(row).returning();
    return r!;
  }

  /** Resolves an open alert; undefined when it was already resolved. */
  async resolve(id: string, at: Date): Promise<AlertRow | undefined> {
    const [r] = await this.db
      .update(alerts)
      .set({ resolvedAt: at })
      .where(and(eq(alerts.id, id), isNull(alerts.resolvedAt)))
      .returning();
    return r;
  }

  /** Acknowledges (the first acknowledgement is kept); undefined for an unknown id. */
  async ack(id: string, userId: string, at: Date): Promise<AlertRow | undefined> {
    const [r] = await this.db
      .update(alerts)
      .set({ ackedBy: sql`coalesce(${alerts.ackedBy}, ${userId})`, ackedAt: sql`coalesce(${alerts.ackedAt}, ${at.toISOString()}::timestamptz)` })
      .where(eq(alerts.id, id))
      .returning();
    return r;
  }

  async list(q: { open?: boolean; deviceId?: string; limit: number }): Promise<AlertRow[]> {
    const where: SQL[] = [];
    if (q.open === true) where.push(isNull(alerts.resolvedAt));
    if (q.open === false) where.push(isNotNull(alerts.resolvedAt));
    if (q.deviceId) where.push(eq(alerts.deviceId, q.deviceId));
    return this.db
      .select()
      .from(alerts)
      .where(where.length ? and(...where) : undefined)
      .orderBy(desc(alerts.raisedAt), desc(alerts.id))
      .limit(q.limit);
  }

  async countOpen(): Promise<number> {
    const [r] = await this.db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(alerts).where(isNull(alerts.resolvedAt));
    return r?.n ?? 0;
  }

  /** Resolved alerts raised before `before` go (open ones stay, however old). */
  async deleteResolvedBefore(before: Date): Promise<void> {
    await this.db.delete(alerts).where(and(isNotNull(alerts.resolvedAt), sql`${alerts.raisedAt} < ${before.toISOString()}::timestamptz`));
  }
}
