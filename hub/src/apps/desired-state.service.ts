import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import { MetricsService } from '../common/metrics.service.js';
import { LOGGER } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { AppsRepository } from './apps.repository.js';
import { ControlsRepository } from './controls.repository.js';
import {
  ParseCache,
  bundleIndex,
  computeDevice,
  type AppFailure,
  type DesiredBody,
  type DeviceInputs,
  type FleetInputs,
} from './desired-compute.js';
import { DesiredPublisher } from './desired-publisher.js';
import { DesiredRepository, type StoredDesired } from './desired.repository.js';
import { VariablesRepository, type Variables } from './variables.repository.js';

/** Devices by id, a whole fleet, or every fleet with apps (after an image bundle is uploaded or removed). */
export type RecomputeTarget = string[] | { fleetId: string } | { all: true };

/**
 * The desired state of every device: computed from the apps of its fleet (each at the fleet's
 * release or the device's override), the fleet's and the device's variables and the operator
 * controls; stored with a version that grows only when the content changes; then published.
 * All state is in the database and each fleet's recompute runs under a lock there, so several
 * hub replicas can recompute at once.
 */
@Injectable()
export class DesiredStateService {
  private readonly failures;
  private readonly bumps;

  constructor(
    private readonly repo: DesiredRepository,
    private readonly apps: AppsRepository,
    private readonly variables: VariablesRepository,
    private readonly controls: ControlsRepository,
    private readonly publisher: DesiredPublisher,
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.failures = metrics.counter(
      'pifleet_desired_app_failures_total',
      'Apps that could not be computed for a device at a recompute (its previous spec is kept)',
    );
    this.bumps = metrics.counter('pifleet_desired_versions_total', 'Desired-state versions stored (content changed)');
  }

  /**
   * The stored desired state; computed first if an active device has none yet. Null when there
   * is none (an unknown device, or one revoked before it had any). A revoked device's state stays
   * as it was when it was revoked.
   */
  async current(deviceId: string): Promise<{ version: number; state: DesiredBody } | null> {
    const stored = (await this.repo.stored(this.repo.db, [deviceId])).get(deviceId);
    if (stored) return stored;
    if (!(await this.repo.fleetsOf([deviceId])).has(deviceId)) return null;
    await this.recompute([deviceId]);
    return (await this.repo.stored(this.repo.db, [deviceId])).get(deviceId) ?? null;
  }

  /** Recomputes these devices (or a whole fleet), stores what changed with a new version and publishes it. */
  async recompute(target: RecomputeTarget): Promise<void> {
    await this.recomputeAndPublish(target);
  }

  /** As recompute; resolves with the ids of the devices whose state changed (and was published). */
  async recomputeAndPublish(target: RecomputeTarget): Promise<Set<string>> {
    const groups = new Map<string, string[] | undefined>();
    if (Array.isArray(target)) {
      for (const [id, fleetId] of await this.repo.fleetsOf([...new Set(target)])) {
        const list = groups.get(fleetId) ?? [];
        list.push(id);
        groups.set(fleetId, list);
      }
    } else if ('fleetId' in target) {
      groups.set(target.fleetId, undefined);
    } else {
      for (const fleetId of await this.repo.fleetsWithApps()) groups.set(fleetId, undefined);
    }
    const changed: { deviceId: string; version: number; state: DesiredBody }[] = [];
    for (const [fleetId, ids] of groups) changed.push(...(await this.recomputeFleet(fleetId, ids)));
    await this.publisher.publishAll(changed);
    return new Set(changed.map((c) => c.deviceId));
  }

  /** Sends the device its current desired state (on connect, on `evt/sync`); computes it first if it has none. */
  async publishTo(deviceId: string): Promise<void> {
    const stored = (await this.repo.stored(this.repo.db, [deviceId])).get(deviceId);
    if (!stored) {
      await this.recompute([deviceId]);
      return;
    }
    await this.publisher.publishStored([deviceId]);
  }

  /** Everything a computation for a fleet needs besides its devices. */
  async fleetInputs(db: Db, fleetId: string): Promise<FleetInputs> {
    const [vars, apps, bundles] = [await this.variables.ofFleet(fleetId, db), await this.apps.fleetApps(db, fleetId), await this.repo.bundles(db)];
    return { fleetId, vars, apps, bundles: bundleIndex(bundles) };
  }

  /**
   * Active devices of a fleet (or those among `ids`) with their variables, controls and (unless
   * `withStored` is false, as a recompute asks) their stored state.
   */
  async deviceInputs(db: Db, fleetId: string, ids?: string[], withStored = true): Promise<DeviceInputs[]> {
    const list = await this.repo.activeDevices(db, fleetId, ids);
    const deviceIds = list.map((d) => d.id);
    const [vars, controls, stored] = [
      await this.variables.ofDevices(deviceIds, db),
      await this.controls.forDevices(deviceIds, db),
      withStored ? await this.repo.stored(db, deviceIds) : new Map<string, StoredDesired>(),
    ];
    return list.map((d) => ({
      id: d.id,
      name: d.name,
      vars: vars.get(d.id) ?? {},
      controls: controls.get(d.id) ?? [],
      stored: stored.get(d.id)?.state ?? null,
    }));
  }

  /**
   * Which (device, app) pairs would stop computing with other variables, that compute now: a
   * variables change that breaks an app for a device is refused before it is stored.
   */
  async newFailures(
    fleetId: string,
    change: { fleetVars?: Variables; device?: { id: string; vars: Variables } },
  ): Promise<{ device: string; failure: AppFailure }[]> {
    const db = this.repo.db;
    const fleet = await this.fleetInputs(db, fleetId);
    const devices = await this.deviceInputs(db, fleetId, change.device ? [change.device.id] : undefined);
    const cache = new ParseCache();
    const next: FleetInputs = { ...fleet, vars: change.fleetVars ?? fleet.vars };
    const out: { device: string; failure: AppFailure }[] = [];
    for (const d of devices) {
      const before = new Set(computeDevice(fleet, d, cache).failures.map((f) => f.app));
      const after = computeDevice(next, change.device?.id === d.id ? { ...d, vars: change.device.vars } : d, cache).failures;
      for (const f of after) if (!before.has(f.app)) out.push({ device: d.name, failure: f });
    }
    return out;
  }

  private async recomputeFleet(fleetId: string, ids: string[] | undefined): Promise<{ deviceId: string; version: number; state: DesiredBody }[]> {
    const changed = await this.repo.db.transaction(async (tx) => {
      await this.repo.lockFleet(tx, fleetId);
      const fleet = await this.fleetInputs(tx, fleetId);
      // Stored states are read only for the devices that need them (an app that fails there
      // keeps its previous spec): most recomputes read none.
      const devices = await this.deviceInputs(tx, fleetId, ids, false);
      const cache = new ParseCache();
      const rows: { deviceId: string; state: DesiredBody }[] = [];
      const failing: DeviceInputs[] = [];
      for (const d of devices) {
        const { body, failures } = computeDevice(fleet, d, cache);
        if (failures.length) failing.push(d);
        else rows.push({ deviceId: d.id, state: body });
      }
      const stored = await this.repo.stored(tx, failing.map((d) => d.id));
      for (const d of failing) {
        const { body, failures } = computeDevice(fleet, { ...d, stored: stored.get(d.id)?.state ?? null }, cache);
        for (const f of failures) {
          this.failures.inc();
          this.log.warn({ deviceId: d.id, app: f.app, release: f.release, errors: f.errors.slice(0, 3) }, 'app does not compute for this device; its previous spec is kept');
        }
        rows.push({ deviceId: d.id, state: body });
      }
      return this.repo.store(tx, rows);
    });
    this.bumps.inc(changed.length);
    if (changed.length) this.log.info({ fleetId, devices: changed.length }, 'desired states changed');
    return changed;
  }
}
