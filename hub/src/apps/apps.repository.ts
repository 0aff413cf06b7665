import { Inject, Injectable } from '@nestjs/common';
import { and, asc, desc, eq, isNotNull, isNull, max, sql } from 'drizzle-orm';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { appReleases, apps, devices, fleets, users } from '../db/schema.js';
import { randomId } from '../common/ids.js';
import type { AppInputs, ReleaseContent } from './desired-compute.js';

export interface ReleaseRecord {
  id: string;
  appId: string;
  app: string;
  fleetId: string;
  fleet: string;
  number: number;
  deviceId: string | null;
  device: string | null;
  compose: string;
  envFiles: Record<string, string>;
  rollbackOf: number | null;
  removed: boolean;
  createdBy: string | null;
  createdAt: Date;
}

export interface NewRelease {
  deviceId: string | null;
  compose: string;
  envFiles: Record<string, string>;
  removed: boolean;
  rollbackOf: number | null;
  createdBy: string | null;
}

const releaseColumns = {
  id: appReleases.id,
  appId: appReleases.appId,
  app: apps.name,
  fleetId: apps.fleetId,
  fleet: fleets.name,
  number: appReleases.number,
  deviceId: appReleases.deviceId,
  device: devices.name,
  compose: appReleases.compose,
  envFiles: appReleases.envFiles,
  rollbackOf: appReleases.rollbackOf,
  removed: appReleases.removed,
  createdBy: users.username,
  createdAt: appReleases.createdAt,
};

/** Apps and their numbered releases (history only grows: a rollback is a new release). */
@Injectable()
export class AppsRepository {
  constructor(@Inject(DB) private readonly db: Db) {}

  async findApp(fleetId: string, name: string): Promise<{ id: string; name: string } | null> {
    const [row] = await this.db
      .select({ id: apps.id, name: apps.name })
      .from(apps)
      .where(and(eq(apps.fleetId, fleetId), eq(apps.name, name)))
      .limit(1);
    return row ?? null;
  }

  /**
   * Adds a release with the app's next number, creating the app on its first one. The app row
   * is locked for the numbering, so concurrent releases of one app (several hub replicas too)
   * get consecutive numbers instead of a unique-index failure.
   */
  async addRelease(fleetId: string, appName: string, r: NewRelease): Promise<ReleaseRecord> {
    const id = await this.db.transaction(async (tx) => {
      await tx.insert(apps).values({ id: randomId(16), name: appName, fleetId }).onConflictDoNothing();
      const [app] = await tx
        .select({ id: apps.id })
        .from(apps)
        .where(and(eq(apps.fleetId, fleetId), eq(apps.name, appName)))
        .for('update');
      if (!app) throw new Error(`app ${appName} vanished while adding a release`);
      const [last] = await tx.select({ n: max(appReleases.number) }).from(appReleases).where(eq(appReleases.appId, app.id));
      const releaseId = randomId(16);
      await tx.insert(appReleases).values({ id: releaseId, appId: app.id, number: (last?.n ?? 0) + 1, ...r });
      return releaseId;
    });
    const [rec] = await this.selectReleases().where(eq(appReleases.id, id));
    if (!rec) throw new Error('release vanished after insert');
    return rec;
  }

  /** Every release of an app, newest first. */
  releases(appId: string): Promise<ReleaseRecord[]> {
    return this.selectReleases().where(eq(appReleases.appId, appId)).orderBy(desc(appReleases.number));
  }

  async release(appId: string, number: number): Promise<ReleaseRecord | null> {
    const [row] = await this.selectReleases().where(and(eq(appReleases.appId, appId), eq(appReleases.number, number)));
    return row ?? null;
  }

  /** The release in force for a scope: the newest fleet-wide one (deviceId null) or the device's newest override. */
  async currentRelease(appId: string, deviceId: string | null): Promise<ReleaseRecord | null> {
    const [row] = await this.selectReleases()
      .where(and(eq(appReleases.appId, appId), deviceId === null ? isNull(appReleases.deviceId) : eq(appReleases.deviceId, deviceId)))
      .orderBy(desc(appReleases.number))
      .limit(1);
    return row ?? null;
  }

  /** The apps of a fleet with the releases in force: the fleet's newest and each device's newest override. */
  async fleetApps(db: Db, fleetId: string): Promise<AppInputs[]> {
    const list = await db.select({ id: apps.id, name: apps.name }).from(apps).where(eq(apps.fleetId, fleetId)).orderBy(asc(apps.name));
    if (list.length === 0) return [];
    const content = {
      appId: appReleases.appId,
      deviceId: appReleases.deviceId,
      id: appReleases.id,
      number: appReleases.number,
      compose: appReleases.compose,
      envFiles: appReleases.envFiles,
      removed: appReleases.removed,
    };
    const fleetWide = await db
      .selectDistinctOn([appReleases.appId], content)
      .from(appReleases)
      .innerJoin(apps, eq(apps.id, appReleases.appId))
      .where(and(eq(apps.fleetId, fleetId), isNull(appReleases.deviceId)))
      .orderBy(appReleases.appId, desc(appReleases.number));
    const overrides = await db
      .selectDistinctOn([appReleases.appId, appReleases.deviceId], content)
      .from(appReleases)
      .innerJoin(apps, eq(apps.id, appReleases.appId))
      .where(and(eq(apps.fleetId, fleetId), isNotNull(appReleases.deviceId)))
      .orderBy(appReleases.appId, appReleases.deviceId, desc(appReleases.number));
    const byApp = new Map<string, AppInputs>(list.map((a) => [a.id, { id: a.id, name: a.name, fleetRelease: null, overrides: new Map() }]));
    const strip = (r: (typeof fleetWide)[number]): ReleaseContent => ({ id: r.id, number: r.number, compose: r.compose, envFiles: r.envFiles, removed: r.removed });
    for (const r of fleetWide) byApp.get(r.appId)!.fleetRelease = strip(r);
    for (const r of overrides) byApp.get(r.appId)!.overrides.set(r.deviceId!, strip(r));
    return [...byApp.values()];
  }

  /** Apps (of one fleet or all) with the newest release time, for listings. */
  async list(fleetId?: string): Promise<{ id: string; name: string; fleetId: string; fleet: string; updatedAt: Date | null }[]> {
    return this.db
      .select({
        id: apps.id,
        name: apps.name,
        fleetId: apps.fleetId,
        fleet: fleets.name,
        updatedAt: sql<Date | null>`(select max(${appReleases.createdAt}) from ${appReleases} where ${appReleases.appId} = ${apps.id})`.mapWith(
          (v: string | Date | null) => (v === null ? null : new Date(v)),
        ),
      })
      .from(apps)
      .innerJoin(fleets, eq(fleets.id, apps.fleetId))
      .where(fleetId ? eq(apps.fleetId, fleetId) : undefined)
      .orderBy(asc(fleets.name), asc(apps.name));
  }

  /** Names of the devices with an override release of the app. */
  async overrideDevices(appId: string): Promise<string[]> {
    const rows = await this.db
      .selectDistinct({ name: devices.name })
      .from(appReleases)
      .innerJoin(devices, eq(devices.id, appReleases.deviceId))
      .where(eq(appReleases.appId, appId))
      .orderBy(asc(devices.name));
    return rows.map((r) => r.name);
  }

  private selectReleases() {
    return this.db
      .select(releaseColumns)
      .from(appReleases)
      .innerJoin(apps, eq(apps.id, appReleases.appId))
      .innerJoin(fleets, eq(fleets.id, apps.fleetId))
      .leftJoin(devices, eq(devices.id, appReleases.deviceId))
      .leftJoin(users, eq(users.id, appReleases.createdBy))
      .$dynamic();
  }
}
