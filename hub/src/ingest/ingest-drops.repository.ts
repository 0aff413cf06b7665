import { Inject, Injectable } from '@nestjs/common';
import { asc, eq, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { ingestDrops } from '../db/schema.js';

export interface DropTally {
  deviceId: string;
  stream: string;
  reason: string;
  count: number;
  firstAt: Date;
  lastAt: Date;
}

/** The ingest_drops table: per-device counts of what the hub refused, added up batch by batch. */
@Injectable()
export class IngestDropsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async add(tallies: DropTally[]): Promise<void> {
    if (tallies.length === 0) return;
    await this.db
      .insert(ingestDrops)
      .values(tallies)
      .onConflictDoUpdate({
        target: [ingestDrops.deviceId, ingestDrops.stream, ingestDrops.reason],
        set: { count: sql`${ingestDrops.count} + excluded.count`, lastAt: sql`greatest(${ingestDrops.lastAt}, excluded.last_at)` },
      });
  }

  async forDevice(deviceId: string): Promise<DropTally[]> {
    return this.db.select().from(ingestDrops).where(eq(ingestDrops.deviceId, deviceId)).orderBy(asc(ingestDrops.stream), asc(ingestDrops.reason));
  }

  async deleteDevice(deviceId: string): Promise<void> {
    await this.db.delete(ingestDrops).where(eq(ingestDrops.deviceId, deviceId));
  }
}
