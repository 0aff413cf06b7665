import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/roles.decorator.js';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { DomainError } from '../common/errors.js';
import { FleetsService } from '../fleets/fleets.service.js';
import type { AppFailure } from './desired-compute.js';
import { groupErrors } from './desired-compute.js';
import { DesiredStateService } from './desired-state.service.js';
import { DesiredRepository } from './desired.repository.js';
import { VariablesRepository, type Variables } from './variables.repository.js';

/**
 * Fleet and device variables for compose interpolation. A new set is checked first: if it would
 * make an app stop computing for a device where it computes now (a `${VAR:?}` left without a
 * value), it is refused with `invalid_compose` naming the devices, and nothing changes.
 */
@Injectable()
export class VariablesService {
  constructor(
    private readonly repo: VariablesRepository,
    private readonly devices: DesiredRepository,
    private readonly fleets: FleetsService,
    private readonly desired: DesiredStateService,
    private readonly audit: AuditService,
  ) {}

  async ofFleet(name: string): Promise<Variables> {
    return this.repo.ofFleet((await this.fleets.require(name)).id);
  }

  async ofDevice(idOrName: string): Promise<Variables> {
    const d = await this.device(idOrName);
    return (await this.repo.ofDevices([d.id])).get(d.id) ?? {};
  }

  setFleet(actor: Caller | AuditActor, name: string, vars: Variables): Promise<Variables> {
    return this.audit.track(
      { actor, action: 'variables.set', targetType: 'fleet', target: name, detail: { names: Object.keys(vars).sort() } },
      async () => {
        const f = await this.fleets.require(name);
        refuse(await this.desired.newFailures(f.id, { fleetVars: vars }));
        await this.repo.replaceFleet(f.id, vars);
        await this.desired.recompute({ fleetId: f.id });
        return this.repo.ofFleet(f.id);
      },
      () => ({ target: name }),
    );
  }

  setDevice(actor: Caller | AuditActor, idOrName: string, vars: Variables): Promise<Variables> {
    return this.audit.track(
      { actor, action: 'variables.set', targetType: 'device', target: idOrName, detail: { names: Object.keys(vars).sort() } },
      async () => {
        const d = await this.device(idOrName);
        refuse(await this.desired.newFailures(d.fleetId, { device: { id: d.id, vars } }));
        await this.repo.replaceDevice(d.id, vars);
        await this.desired.recompute([d.id]);
        return { id: d.id, name: d.name, vars: (await this.repo.ofDevices([d.id])).get(d.id) ?? {} };
      },
      (r) => ({ target: r.id, detail: { name: r.name } }),
    ).then((r) => r.vars);
  }

  private async device(idOrName: string) {
    const d = await this.devices.findDevice(idOrName);
    if (!d) throw new DomainError('not_found', `no device ${idOrName}`);
    return d;
  }
}

function refuse(failures: { device: string; failure: AppFailure }[]): void {
  if (failures.length === 0) return;
  const perDevice = failures.map(({ device, failure }) => ({
    device,
    errors: failure.errors.map((e) => ({ ...e, message: `app ${failure.app} (release ${failure.release}): ${e.message}` })),
  }));
  const devices = [...new Set(failures.map((f) => f.device))];
  throw new DomainError(
    'invalid_compose',
    `these variables would leave apps without a value they need on ${devices.slice(0, 5).join(', ')}${devices.length > 5 ? ` and ${devices.length - 5} more` : ''}`,
    groupErrors(perDevice, -1),
  );
}
