import { Inject, Injectable } from '@nestjs/common';
import { and, asc, eq, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Device, Overview } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { devices, fleets } from '../db/schema.js';
import { isUniqueViolation } from '../db/errors.js';
import { iso } from '../http/iso.js';

export interface DeviceFilter {
  q?: string;
  tag?: string;
  fleet?: string;
  online?: boolean;
}

export interface NewDevice {
  id: string;
  fleetId: string;
  publicKey: string;
  mqttSecretHash: string;
  info: Record<string, unknown>;
  enrolledWith: string;
}

const columns = {
  id: devices.id,
  name: devices.name,
  fleet: fleets.name,
  online: devices.online,
  lastSeenAt: devices.lastSeenAt,
  tags: devices.tags,
  status: devices.status,
  enrolledAt: devices.enrolledAt,
  info: devices.info,
};

/** Device registry as the API sees it; presence columns are written by the presence module. */
@Injectable()
export class DevicesRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async list(f: DeviceFilter = {}): Promise<Device[]> {
    const where: SQL[] = [];
    if (f.q) {
      const like = `%${f.q.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      where.push(
        or(
          sql`${devices.name} ilike ${like}`,
          sql`${devices.id} ilike ${like}`,
          sql`exists (select 1 from unnest(${devices.tags}) as t(tag) where t.tag ilike ${like})`,
        )!,
      );
    }
    if (f.tag) where.push(sql`${f.tag} = any(${devices.tags})`);
    if (f.fleet) where.push(eq(fleets.name, f.fleet));
    if (f.online !== undefined) where.push(and(eq(devices.online, f.online), eq(devices.status, 'active'))!);
    const rows = await this.select()
      .where(where.length ? and(...where) : undefined)
      .orderBy(asc(devices.name));
    return rows.map(toDevice);
  }

  async findByIds(ids: string[]): Promise<Device[]> {
    if (ids.length === 0) return [];
    return (await this.select().where(inArray(devices.id, ids))).map(toDevice);
  }

  /** By id first, then by name (a name could look like another device's id). */
  async findByIdOrName(key: string): Promise<Device | null> {
    const rows = await this.select().where(or(eq(devices.id, key), eq(devices.name, key)));
    const row = rows.find((r) => r.id === key) ?? rows[0];
    return row ? toDevice(row) : null;
  }

  /**
   * Inserts the device under `base`, or `base-2`, `base-3`… when taken. The unique index on
   * name settles races between concurrent enrollments; the loser tries the next suffix.
   */
  async insertWithUniqueName(base: string, d: NewDevice): Promise<string> {
    for (let attempt = 0; attempt < 20; attempt++) {
      const taken = await this.db
        .select({ name: devices.name })
        .from(devices)
        .where(or(eq(devices.name, base), sql`${devices.name} like ${base.replace(/[\\%_]/g, (c) => '\\' + c) + '-%'}`));
      const names = new Set(taken.map((t) => t.name));
      let name = base;
      for (let n = 2; names.has(name); n++) name = `${base}-${n}`;
      const rows = await this.db
        .insert(devices)
        .values({ ...d, name })
        .onConflictDoNothing({ target: devices.name })
        .returning({ name: devices.name });
      if (rows[0]) return rows[0].name;
    }
    throw new Error(`could not find a free device name for ${base}`);
  }

  async delete(id: string): Promise<void> {
    await this.db.delete(devices).where(eq(devices.id, id));
  }

  /** Returns false when the name belongs to another device. */
  async rename(id: string, name: string): Promise<boolean> {
    try {
      await this.db.update(devices).set({ name }).where(eq(devices.id, id));
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async setTags(id: string, tags: string[]): Promise<void> {
    await this.db.update(devices).set({ tags }).where(eq(devices.id, id));
  }

  async markRevoked(id: string): Promise<void> {
    await this.db
      .update(devices)
      .set({ status: 'revoked', online: false, revokedAt: sql`coalesce(${devices.revokedAt}, now())` })
      .where(eq(devices.id, id));
  }

  /** Online/offline counts over active devices; revoked ones are counted apart. */
  async overview(): Promise<Overview> {
    const rows = await this.db
      .select({
        fleet: fleets.name,
        total: sql<number>`count(${devices.id}) filter (where ${devices.status} = 'active')`.mapWith(Number),
        online: sql<number>`count(${devices.id}) filter (where ${devices.status} = 'active' and ${devices.online})`.mapWith(Number),
        revoked: sql<number>`count(${devices.id}) filter (where ${devices.status} = 'revoked')`.mapWith(Number),
      })
      .from(fleets)
      .leftJoin(devices, eq(devices.fleetId, fleets.id))
      .groupBy(fleets.name)
      .orderBy(asc(fleets.name));
    const sum = (k: 'total' | 'online' | 'revoked') => rows.reduce((a, r) => a + r[k], 0);
    const total = sum('total');
    const online = sum('online');
    return {
      total,
      online,
      offline: total - online,
      revoked: sum('revoked'),
      fleets: rows.map((r) => ({ name: r.fleet, total: r.total, online: r.online })),
    };
  }

  private select() {
    return this.db.select(columns).from(devices).innerJoin(fleets, eq(fleets.id, devices.fleetId)).$dynamic();
  }
}

type Row = Omit<Device, 'lastSeenAt' | 'enrolledAt' | 'lastTelemetry'> & { lastSeenAt: Date | null; enrolledAt: Date };

function toDevice(r: Row): Device {
  return {
    id: r.id,
    name: r.name,
    fleet: r.fleet,
    // A revoked device is never shown online, whatever a late presence message wrote.
    online: r.status === 'active' && r.online,
    lastSeenAt: iso(r.lastSeenAt),
    tags: r.tags,
    status: r.status,
    enrolledAt: iso(r.enrolledAt),
    info: r.info,
  };
}
