import { Inject, Injectable } from '@nestjs/common';
import { desc, eq, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { deviceDesired, devices, imageBundles } from '../db/schema.js';

export type BundleRow = typeof imageBundles.$inferSelect;

/** Devices named when a bundle cannot be removed: enough to act on, bounded. */
const MAX_USERS_SHOWN = 5;

@Injectable()
export class ImagesRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  /** Inserts the bundle unless one with the same sha256 exists; returns the row that is stored. */
  async insertOrGet(row: typeof imageBundles.$inferInsert): Promise<{ row: BundleRow; created: boolean }> {
    const [inserted] = await this.db.insert(imageBundles).values(row).onConflictDoNothing({ target: imageBundles.sha256 }).returning();
    if (inserted) return { row: inserted, created: true };
    const existing = await this.findBySha(row.sha256);
    if (!existing) throw new Error('image bundle vanished between insert and read');
    return { row: existing, created: false };
  }

  async findById(id: string): Promise<BundleRow | null> {
    const [row] = await this.db.select().from(imageBundles).where(eq(imageBundles.id, id)).limit(1);
    return row ?? null;
  }

  async findBySha(sha256: string): Promise<BundleRow | null> {
    const [row] = await this.db.select().from(imageBundles).where(eq(imageBundles.sha256, sha256)).limit(1);
    return row ?? null;
  }

  async list(): Promise<BundleRow[]> {
    return this.db.select().from(imageBundles).orderBy(desc(imageBundles.createdAt));
  }

  async ids(): Promise<Set<string>> {
    return new Set((await this.db.select({ id: imageBundles.id }).from(imageBundles)).map((r) => r.id));
  }

  async delete(id: string): Promise<void> {
    await this.db.delete(imageBundles).where(eq(imageBundles.id, id));
  }

  /**
   * Names of devices whose desired state has a service loading this bundle (any `bundle.id`
   * in it, wherever the apps put it). The desired state is what devices are told to run, so a
   * bundle in none of them can go; one still in some would leave those devices unable to start.
   */
  async devicesUsing(id: string): Promise<string[]> {
    const rows = await this.db
      .select({ name: devices.name })
      .from(deviceDesired)
      .innerJoin(devices, eq(devices.id, deviceDesired.deviceId))
      .where(sql`jsonb_path_exists(${deviceDesired.state}, '$.**.bundle.id ? (@ == $id)', jsonb_build_object('id', ${id}::text))`)
      .orderBy(devices.name)
      .limit(MAX_USERS_SHOWN);
    return rows.map((r) => r.name);
  }
}
