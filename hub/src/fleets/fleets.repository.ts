import { Inject, Injectable } from '@nestjs/common';
import { asc, eq, sql } from 'drizzle-orm';
import type { Fleet } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { devices, fleets } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import { iso } from '../http/iso.js';

@Injectable()
export class FleetsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  /** Fleets with the number of active (not revoked) devices in each. */
  async list(): Promise<Fleet[]> {
    const rows = await this.db
      .select({
        id: fleets.id,
        name: fleets.name,
        createdAt: fleets.createdAt,
        deviceCount: sql<number>`count(${devices.id}) filter (where ${devices.status} = 'active')`.mapWith(Number),
      })
      .from(fleets)
      .leftJoin(devices, eq(devices.fleetId, fleets.id))
      .groupBy(fleets.id)
      .orderBy(asc(fleets.name));
    return rows.map((r) => ({ ...r, createdAt: iso(r.createdAt) }));
  }

  async findByName(name: string): Promise<{ id: string; name: string } | null> {
    const [row] = await this.db.select({ id: fleets.id, name: fleets.name }).from(fleets).where(eq(fleets.name, name)).limit(1);
    return row ?? null;
  }

  /** Returns null when the name is taken. */
  async insert(id: string, name: string): Promise<Fleet | null> {
    try {
      const [row] = await this.db.insert(fleets).values({ id, name }).returning();
      return row ? { id: row.id, name: row.name, createdAt: iso(row.createdAt), deviceCount: 0 } : null;
    } catch (err) {
      if (isUniqueViolation(err)) return null;
      throw err;
    }
  }

  async insertIfMissing(id: string, name: string): Promise<void> {
    await this.db.insert(fleets).values({ id, name }).onConflictDoNothing({ target: fleets.name });
  }
}
