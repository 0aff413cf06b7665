import { Inject, Injectable } from '@nestjs/common';
import { asc, eq, inArray } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { deviceVariables, fleetVariables } from '../db/schema.js';

export type Variables = Record<string, string>;

/** Interpolation variables, fleet-wide and per device; each set is replaced as a whole. */
@Injectable()
export class VariablesRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async ofFleet(fleetId: string, db: Db = this.db): Promise<Variables> {
    const rows = await db
      .select({ name: fleetVariables.name, value: fleetVariables.value })
      .from(fleetVariables)
      .where(eq(fleetVariables.fleetId, fleetId))
      .orderBy(asc(fleetVariables.name));
    return Object.fromEntries(rows.map((r) => [r.name, r.value]));
  }

  async ofDevices(ids: string[], db: Db = this.db): Promise<Map<string, Variables>> {
    const out = new Map<string, Variables>(ids.map((id) => [id, {}]));
    if (ids.length === 0) return out;
    const rows = await db
      .select()
      .from(deviceVariables)
      .where(inArray(deviceVariables.deviceId, ids))
      .orderBy(asc(deviceVariables.name));
    for (const r of rows) out.get(r.deviceId)![r.name] = r.value;
    return out;
  }

  async replaceFleet(fleetId: string, vars: Variables): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.delete(fleetVariables).where(eq(fleetVariables.fleetId, fleetId));
      const rows = Object.entries(vars).map(([name, value]) => ({ fleetId, name, value }));
      if (rows.length) await tx.insert(fleetVariables).values(rows);
    });
  }

  async replaceDevice(deviceId: string, vars: Variables): Promise<void> {
    await this.db.transaction(async (tx) => {
      await tx.delete(deviceVariables).where(eq(deviceVariables.deviceId, deviceId));
      const rows = Object.entries(vars).map(([name, value]) => ({ deviceId, name, value }));
      if (rows.length) await tx.insert(deviceVariables).values(rows);
    });
  }
}
