import { Injectable } from '@nestjs/common';
import type { Caller } from '../auth/roles.decorator.js';
import type { ServiceActionRequest } from '../contract.js';
import { ControlsService } from '../apps/controls.service.js';
import { DesiredStateService } from '../apps/desired-state.service.js';
import { DesiredSide, type ControlsView, type DesiredView } from './desired-side.js';

/** DesiredSide over the apps module's services: the desired state, its publication, operator controls. */
@Injectable()
export class AppsDesiredSide extends DesiredSide {
  constructor(
    private readonly desired: DesiredStateService,
    private readonly controls: ControlsService,
  ) {
    super();
  }

  async current(deviceId: string): Promise<DesiredView | null> {
    const c = await this.desired.current(deviceId);
    if (!c) return null;
    const apps: DesiredView['apps'] = {};
    for (const [name, spec] of Object.entries(c.state.apps)) {
      apps[name] = { release: spec.release, services: Object.fromEntries(Object.entries(spec.services).map(([s, svc]) => [s, { image: svc.image }])) };
    }
    return { version: c.version, apps };
  }

  publishTo(deviceId: string): Promise<void> {
    return this.desired.publishTo(deviceId);
  }

  async controlsFor(deviceId: string): Promise<ControlsView> {
    const out: ControlsView = {};
    for (const [app, services] of Object.entries(await this.controls.controlsFor(deviceId))) {
      for (const [service, c] of Object.entries(services)) (out[app] ??= {})[service] = { stopped: c.stopped, pausedUntil: c.pausedUntil ?? null };
    }
    return out;
  }

  apply(actor: Caller, deviceId: string, req: ServiceActionRequest): Promise<void> {
    return this.controls.apply(actor, deviceId, req);
  }
}
