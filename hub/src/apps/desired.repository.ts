import { Inject, Injectable } from '@nestjs/common';
import { and, desc, eq, inArray, or, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { apps, deviceDesired, devices, fleets, imageBundles } from '../db/schema.js';
import type { DesiredBody } from './desired-compute.js';

export interface DeviceRef {
  id: string;
  name: string;
  fleetId: string;
  fleet: string;
  status: 'active' | 'revoked';
}

export interface DevicePresence {
  id: string;
  fleetId: string;
  status: 'active' | 'revoked';
  online: boolean;
  session: number;
  hasDesired: boolean;
}

export interface StoredDesired {
  version: number;
  state: DesiredBody;
}

/** First key of the advisory locks that serialise a fleet's recomputes (the second is the fleet's hash). */
const DESIRED_LOCK_SPACE = 7301;

/** Rows written per statement when a fleet's states are stored. */
const UPSERT_BATCH = 500;

/**
 * The desired states (device_desired) and the few facts about devices and image bundles their
 * computation reads. Devices and bundles belong to other features; they are only read here.
 */
@Injectable()
export class DesiredRepository {
  constructor(@Inject(DB) readonly db: Db) {}

  /** By id first, then by name (as the devices API resolves them). */
  async findDevice(idOrName: string): Promise<DeviceRef | null> {
    const rows = await this.db
      .select({ id: devices.id, name: devices.name, fleetId: devices.fleetId, fleet: fleets.name, status: devices.status })
      .from(devices)
      .innerJoin(fleets, eq(fleets.id, devices.fleetId))
      .where(or(eq(devices.id, idOrName), eq(devices.name, idOrName)));
    return rows.find((r) => r.id === idOrName) ?? rows[0] ?? null;
  }

  /** Active devices of a fleet (all of them, or those among `ids`). */
  activeDevices(db: Db, fleetId: string, ids?: string[]): Promise<{ id: string; name: string }[]> {
    return db
      .select({ id: devices.id, name: devices.name })
      .from(devices)
      .where(and(eq(devices.fleetId, fleetId), eq(devices.status, 'active'), ids ? inArray(devices.id, ids) : undefined))
      .orderBy(devices.name);
  }

  /** Fleet of each active device among `ids`. */
  async fleetsOf(ids: string[]): Promise<Map<string, string>> {
    if (ids.length === 0) return new Map();
    const rows = await this.db
      .select({ id: devices.id, fleetId: devices.fleetId })
      .from(devices)
      .where(and(inArray(devices.id, ids), eq(devices.status, 'active')));
    return new Map(rows.map((r) => [r.id, r.fleetId]));
  }

  async fleetsWithApps(): Promise<string[]> {
    const rows = await this.db.selectDistinct({ fleetId: apps.fleetId }).from(apps);
    return rows.map((r) => r.fleetId);
  }

  async presence(ids: string[]): Promise<DevicePresence[]> {
    if (ids.length === 0) return [];
    return this.db
      .select({
        id: devices.id,
        fleetId: devices.fleetId,
        status: devices.status,
        online: devices.online,
        session: devices.session,
        hasDesired: sql<boolean>`${deviceDesired.deviceId} is not null`.mapWith(Boolean),
      })
      .from(devices)
      .leftJoin(deviceDesired, eq(deviceDesired.deviceId, devices.id))
      .where(inArray(devices.id, ids));
  }

  async onlineActive(): Promise<string[]> {
    const rows = await this.db
      .select({ id: devices.id })
      .from(devices)
      .where(and(eq(devices.online, true), eq(devices.status, 'active')));
    return rows.map((r) => r.id);
  }

  async stored(db: Db, ids: string[]): Promise<Map<string, StoredDesired>> {
    if (ids.length === 0) return new Map();
    const rows = await db
      .select({ deviceId: deviceDesired.deviceId, version: deviceDesired.version, state: deviceDesired.state })
      .from(deviceDesired)
      .where(inArray(deviceDesired.deviceId, ids));
    return new Map(rows.map((r) => [r.deviceId, { version: r.version, state: r.state as unknown as DesiredBody }]));
  }

  /** Service names an app has in the stored states of a fleet's devices. */
  async storedServiceNames(fleetId: string, app: string): Promise<string[]> {
    const services = sql`${deviceDesired.state} -> 'apps' -> ${app} -> 'services'`;
    const rows = await this.db
      .selectDistinct({ name: sql<string>`jsonb_object_keys(${services})` })
      .from(deviceDesired)
      .innerJoin(devices, eq(devices.id, deviceDesired.deviceId))
      .where(and(eq(devices.fleetId, fleetId), sql`jsonb_typeof(${services}) = 'object'`));
    return rows.map((r) => r.name).sort();
  }

  /** Uploaded bundles, newest first (the newest wins an image reference two of them hold). */
  bundles(db: Db): Promise<{ id: string; refs: string[]; sha256: string; size: number }[]> {
    return db
      .select({ id: imageBundles.id, refs: imageBundles.refs, sha256: imageBundles.sha256, size: imageBundles.size })
      .from(imageBundles)
      .orderBy(desc(imageBundles.createdAt));
  }

  /**
   * Serialises the recomputes of one fleet across the transaction (and across hub replicas on
   * one database): inputs read after the lock are at least as new as those of any computation
   * stored before, so an older computation never overwrites a newer one.
   */
  async lockFleet(db: Db, fleetId: string): Promise<void> {
    await db.execute(sql`select pg_advisory_xact_lock(${DESIRED_LOCK_SPACE}, hashtext(${fleetId}))`);
  }

  /**
   * Stores states, bumping a device's version only where the content changed (jsonb equality
   * ignores key order), in one statement per batch with the batch as one jsonb parameter (cheap
   * to build for thousands of devices). Returns the rows that changed, with their new version.
   */
  async store(db: Db, rows: { deviceId: string; state: DesiredBody }[]): Promise<{ deviceId: string; version: number; state: DesiredBody }[]> {
    const changed: { deviceId: string; version: number; state: DesiredBody }[] = [];
    for (let i = 0; i < rows.length; i += UPSERT_BATCH) {
      const batch = rows.slice(i, i + UPSERT_BATCH);
      const byId = new Map(batch.map((r) => [r.deviceId, r.state]));
      const param = JSON.stringify(batch.map((r) => ({ device_id: r.deviceId, state: r.state })));
      const result = await db.execute<{ device_id: string; version: number }>(sql`
        insert into ${deviceDesired} (device_id, version, state)
        select x.device_id, 1, x.state from jsonb_to_recordset(${param}::jsonb) as x(device_id text, state jsonb)
        on conflict (device_id) do update
          set version = ${deviceDesired}.version + 1, state = excluded.state, updated_at = now()
          where ${deviceDesired}.state is distinct from excluded.state
        returning device_id, version`);
      for (const r of rowsOf<{ device_id: string; version: number }>(result)) changed.push({ deviceId: r.device_id, version: Number(r.version), state: byId.get(r.device_id)! });
    }
    return changed;
  }
}

/** node-postgres and PGlite both answer a raw statement with `{ rows }`. */
function rowsOf<T>(result: unknown): T[] {
  return (result as { rows: T[] }).rows;
}
