import { Injectable } from '@nestjs/common';
import type { ServiceControl } from '@pifleet/protocol';
import type { Caller } from '../auth/roles.decorator.js';
import type { ServiceActionRequest } from '../contract.js';
import { AuditService, type AuditActor } from '../audit/audit.service.js';
import { DomainError } from '../common/errors.js';
import { parseOrThrow } from '../http/zod-pipe.js';
import { ServiceActionSchema } from './apps.dto.js';
import { ControlsRepository } from './controls.repository.js';
import { DesiredStateService } from './desired-state.service.js';
import { DesiredRepository } from './desired.repository.js';

/**
 * Operator actions on services (stop, start, restart, reset, pause, resume), recorded as
 * standing controls in service_controls and so carried in the device's desired state: the
 * agent's reconciliation never undoes them and they survive its restarts and every recompute.
 */
@Injectable()
export class ControlsService {
  constructor(
    private readonly repo: ControlsRepository,
    private readonly devices: DesiredRepository,
    private readonly desired: DesiredStateService,
    private readonly audit: AuditService,
  ) {}

  /**
   * Applies one action to a service, every service of an app (no service) or of the device
   * (neither), as the device's desired state has them; audited, then published.
   */
  async apply(actor: Caller | AuditActor, deviceId: string, request: ServiceActionRequest): Promise<void> {
    const req = parseOrThrow(ServiceActionSchema, request);
    const detail = { action: req.action, ...(req.app ? { app: req.app } : {}), ...(req.service ? { service: req.service } : {}), ...(req.minutes ? { minutes: req.minutes } : {}) };
    await this.audit.track({ actor, action: `service.${req.action}`, targetType: 'device', target: deviceId, detail }, async () => {
      const d = await this.devices.findDevice(deviceId);
      if (!d || d.id !== deviceId) throw new DomainError('not_found', `no device ${deviceId}`);
      if (d.status !== 'active') throw new DomainError('conflict', `device ${d.name} is revoked`);
      const current = await this.desired.current(deviceId);
      const apps = current?.state.apps ?? {};
      if (req.app !== undefined && !apps[req.app]) throw new DomainError('not_found', `device ${d.name} has no app ${req.app}`);
      if (req.service !== undefined && !apps[req.app!]!.services[req.service]) {
        throw new DomainError('not_found', `app ${req.app} on device ${d.name} has no service ${req.service}`);
      }
      const targets = Object.entries(apps)
        .filter(([app]) => req.app === undefined || app === req.app)
        .flatMap(([app, spec]) => Object.keys(spec.services).filter((s) => req.service === undefined || s === req.service).map((service) => ({ app, service })));
      if (targets.length === 0) throw new DomainError('not_found', `device ${d.name} runs no services`);
      const pausedUntil = req.action === 'pause' ? new Date(Date.now() + req.minutes! * 60_000) : null;
      await this.repo.apply(deviceId, targets, req.action, pausedUntil);
      await this.desired.recompute([deviceId]);
      return { services: targets.length, name: d.name };
    }, (r) => ({ detail: { name: r.name, services: r.services } }));
  }

  /** The controls recorded for a device, per app and service (including services it no longer has). */
  async controlsFor(deviceId: string): Promise<Record<string, Record<string, ServiceControl>>> {
    const rows = (await this.repo.forDevices([deviceId])).get(deviceId) ?? [];
    const out: Record<string, Record<string, ServiceControl>> = {};
    for (const r of rows) {
      const c: ServiceControl = { stopped: r.stopped, restartSeq: r.restartSeq, resetSeq: r.resetSeq };
      if (r.pausedUntil) c.pausedUntil = r.pausedUntil.getTime();
      (out[r.app] ??= {})[r.service] = c;
    }
    return out;
  }
}
