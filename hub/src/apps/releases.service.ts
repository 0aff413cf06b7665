import { Injectable } from '@nestjs/common';
import { isDeepStrictEqual } from 'node:util';
import type { AppSummary, ApplyAppResult, Release } from '../contract.js';
import type { Caller } from '../auth/roles.decorator.js';
import { AuditService, actorOf, type AuditActor } from '../audit/audit.service.js';
import { DomainError } from '../common/errors.js';
import { FleetsService } from '../fleets/fleets.service.js';
import { iso } from '../http/iso.js';
import type { ApplyAppInput, RollbackInput } from './apps.dto.js';
import { AppsRepository, type ReleaseRecord } from './apps.repository.js';
import { proposeRelease, type ReleaseProposal } from './release-plan.js';
import { DesiredStateService } from './desired-state.service.js';
import { DesiredRepository } from './desired.repository.js';
import { appServices } from './app-services.js';

type Actor = Caller | AuditActor;

/** Where a release applies: a whole fleet, or one device's override in its fleet. */
interface Scope {
  fleetId: string;
  fleet: string;
  device: { id: string; name: string } | null;
}

/**
 * Apps and their releases: apply (validate against every device it reaches, plan, store a
 * release, recompute), rollback (a new release copying an old one), removal (a release that
 * removes), and the listings. Every change is audited.
 */
@Injectable()
export class ReleasesService {
  constructor(
    private readonly repo: AppsRepository,
    private readonly devices: DesiredRepository,
    private readonly fleets: FleetsService,
    private readonly desired: DesiredStateService,
    private readonly audit: AuditService,
  ) {}

  async apply(actor: Actor, req: ApplyAppInput): Promise<ApplyAppResult> {
    const proposal: ReleaseProposal = { compose: req.compose, envFiles: req.envFiles, removed: false };
    if (req.dryRun) return this.propose(actor, await this.scopeOf(req.fleet, req.device), req.name, proposal, null, true);
    const where = req.device ? { device: req.device } : {};
    return this.audit.track(
      { actor, action: 'app.apply', targetType: 'app', target: `${req.fleet ?? '?'}/${req.name ?? '?'}`, detail: where },
      async () => this.propose(actor, await this.scopeOf(req.fleet, req.device), req.name, proposal, null, false),
      (r) => ({ target: `${r.fleet}/${r.app}`, detail: outcome(r) }),
    );
  }

  async rollback(actor: Actor, fleet: string, app: string, req: RollbackInput): Promise<ApplyAppResult> {
    return this.audit.track(
      { actor, action: 'app.rollback', targetType: 'app', target: `${fleet}/${app}`, detail: { to: req.release, ...(req.device ? { device: req.device } : {}) } },
      async () => {
        const { scope, appId } = await this.appScope(fleet, app, req.device);
        const old = await this.repo.release(appId, req.release);
        if (!old) throw new DomainError('not_found', `app ${app} has no release ${req.release}`);
        return this.propose(actor, scope, app, { compose: old.compose, envFiles: old.envFiles, removed: old.removed }, old.number, false);
      },
      (r) => ({ detail: outcome(r) }),
    );
  }

  async remove(actor: Actor, fleet: string, app: string, device?: string): Promise<ApplyAppResult> {
    return this.audit.track(
      { actor, action: 'app.remove', targetType: 'app', target: `${fleet}/${app}`, detail: device ? { device } : {} },
      async () => {
        const { scope } = await this.appScope(fleet, app, device);
        return this.propose(actor, scope, app, { compose: '', envFiles: {}, removed: true }, null, false);
      },
      (r) => ({ detail: outcome(r) }),
    );
  }

  async list(fleet?: string): Promise<AppSummary[]> {
    const fleetId = fleet ? (await this.fleets.require(fleet)).id : undefined;
    const out: AppSummary[] = [];
    for (const a of await this.repo.list(fleetId)) {
      const current = await this.repo.currentRelease(a.id, null);
      out.push({
        name: a.name,
        fleet: a.fleet,
        release: current && !current.removed ? current.number : null,
        services: current && !current.removed ? await appServices(this.desired, this.devices, a.fleetId, a.name, current) : [],
        overrides: await this.repo.overrideDevices(a.id),
        updatedAt: iso(a.updatedAt ?? new Date(0)),
      });
    }
    return out;
  }

  async releases(fleet: string, app: string): Promise<Release[]> {
    const f = await this.fleets.require(fleet);
    const a = await this.repo.findApp(f.id, app);
    if (!a) throw new DomainError('not_found', `no app ${app} in fleet ${fleet}`);
    const list = await this.repo.releases(a.id);
    // Newest first, so the first release seen of each scope is the one in force there.
    const seen = new Set<string>();
    return list.map((r) => {
      const scope = r.deviceId ?? '';
      const current = !seen.has(scope);
      seen.add(scope);
      return toRelease(r, current);
    });
  }

  private async scopeOf(fleet: string | undefined, device: string | undefined): Promise<Scope> {
    if (device !== undefined) {
      const d = await this.devices.findDevice(device);
      if (!d) throw new DomainError('not_found', `no device ${device}`);
      if (d.status !== 'active') throw new DomainError('conflict', `device ${d.name} is revoked`);
      return { fleetId: d.fleetId, fleet: d.fleet, device: { id: d.id, name: d.name } };
    }
    const f = await this.fleets.require(fleet!);
    return { fleetId: f.id, fleet: f.name, device: null };
  }

  /** The scope of a rollback or removal of an existing app; a device must be in the app's fleet. */
  private async appScope(fleet: string, app: string, device: string | undefined): Promise<{ scope: Scope; appId: string }> {
    const f = await this.fleets.require(fleet);
    const a = await this.repo.findApp(f.id, app);
    if (!a) throw new DomainError('not_found', `no app ${app} in fleet ${fleet}`);
    if (device === undefined) return { scope: { fleetId: f.id, fleet: f.name, device: null }, appId: a.id };
    const scope = await this.scopeOf(undefined, device);
    if (scope.fleetId !== f.id) throw new DomainError('bad_request', `device ${scope.device!.name} is in fleet ${scope.fleet}, not ${fleet}`);
    return { scope, appId: a.id };
  }

  /**
   * Validates and plans a release for a scope, and unless it is a dry run stores it and
   * recomputes the devices it reaches. A release identical to the one in force stores nothing
   * (no new number, no version bump) but still recomputes, so repeating an apply repairs a
   * recompute that failed before.
   */
  private async propose(
    actor: Actor,
    scope: Scope,
    name: string | undefined,
    proposal: ReleaseProposal,
    rollbackOf: number | null,
    dryRun: boolean,
  ): Promise<ApplyAppResult> {
    const db = this.devices.db;
    const fleet = await this.desired.fleetInputs(db, scope.fleetId);
    const devices = await this.desired.deviceInputs(db, scope.fleetId, scope.device ? [scope.device.id] : undefined);
    const existing = name ? await this.repo.findApp(scope.fleetId, name) : null;
    const last = existing ? (await this.repo.releases(existing.id))[0]?.number ?? 0 : 0;
    const r = proposeRelease({ fleet, devices, scope: scope.device ? 'device' : 'fleet', name, proposal, number: last + 1 });
    if (!r.ok) throw new DomainError('invalid_compose', r.message, r.errors);
    const base = { app: r.name, fleet: scope.fleet, plan: r.plan };
    if (dryRun) return { ...base, dryRun: true };

    const app = existing ?? (await this.repo.findApp(scope.fleetId, r.name));
    if (proposal.removed && !app) throw new DomainError('not_found', `no app ${r.name} in fleet ${scope.fleet}`);
    const inForce = app ? await this.repo.currentRelease(app.id, scope.device?.id ?? null) : null;
    const same =
      inForce &&
      inForce.removed === proposal.removed &&
      (proposal.removed || (inForce.compose === proposal.compose && isDeepStrictEqual(inForce.envFiles, proposal.envFiles)));
    const release =
      same && inForce
        ? inForce
        : await this.repo.addRelease(scope.fleetId, r.name, {
            deviceId: scope.device?.id ?? null,
            compose: proposal.compose,
            envFiles: proposal.envFiles,
            removed: proposal.removed,
            rollbackOf,
            createdBy: userIdOf(actor),
          });
    await this.desired.recompute(scope.device ? [scope.device.id] : { fleetId: scope.fleetId });
    return { ...base, release: toRelease(release, true), dryRun: false };
  }
}

function userIdOf(actor: Actor): string | null {
  const a = actorOf(actor);
  return a === 'system' ? null : a.id;
}

function outcome(r: ApplyAppResult): Record<string, unknown> {
  const count = (c: string) => r.plan.filter((p) => p.change === c).length;
  return {
    release: r.release?.number,
    ...(r.release?.rollbackOf ? { rollbackOf: r.release.rollbackOf } : {}),
    ...(r.release?.removed ? { removed: true } : {}),
    plan: { create: count('create'), recreate: count('recreate'), remove: count('remove'), unchanged: count('unchanged') },
  };
}

export function toRelease(r: ReleaseRecord, current: boolean): Release {
  return {
    app: r.app,
    fleet: r.fleet,
    number: r.number,
    device: r.device,
    compose: r.compose,
    rollbackOf: r.rollbackOf,
    removed: r.removed,
    createdBy: r.createdBy,
    createdAt: iso(r.createdAt),
    current,
  };
}
