import { Inject, Injectable } from '@nestjs/common';
import { eq } from 'drizzle-orm';
import type { Logger } from 'pino';
import type { Caller } from '../auth/roles.decorator.js';
import type { ServiceActionRequest } from '../contract.js';
import { DomainError } from '../common/errors.js';
import { DB, LOGGER } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { deviceDesired, serviceControls } from '../db/schema.js';
import { DesiredSide, type ControlsView, type DesiredView } from './desired-side.js';

/**
 * The desired side read from what the apps module stores (device_desired, service_controls),
 * for a hub built without the apps module's services. Read only: it sends nothing and records
 * no controls (an action is `unavailable`).
 */
@Injectable()
export class StoredDesiredSide extends DesiredSide {
  constructor(
    @Inject(DB) private readonly db: Db,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    super();
  }

  async current(deviceId: string): Promise<DesiredView | null> {
    const [r] = await this.db.select().from(deviceDesired).where(eq(deviceDesired.deviceId, deviceId));
    if (!r) return null;
    const apps = (r.state['apps'] ?? {}) as Record<string, { release?: number; services?: Record<string, { image?: string }> }>;
    return {
      version: r.version,
      apps: Object.fromEntries(
        Object.entries(apps).map(([name, a]) => [
          name,
          { release: a.release ?? 0, services: Object.fromEntries(Object.entries(a.services ?? {}).map(([s, spec]) => [s, { image: spec.image ?? '' }])) },
        ]),
      ),
    };
  }

  publishTo(deviceId: string): Promise<void> {
    this.log.debug({ deviceId }, 'evt/sync: no desired-state publisher in this hub');
    return Promise.resolve();
  }

  async controlsFor(deviceId: string): Promise<ControlsView> {
    const out: ControlsView = {};
    for (const c of await this.db.select().from(serviceControls).where(eq(serviceControls.deviceId, deviceId))) {
      (out[c.app] ??= {})[c.service] = { stopped: c.stopped, pausedUntil: c.pausedUntil?.getTime() ?? null };
    }
    return out;
  }

  apply(_actor: Caller, _deviceId: string, _req: ServiceActionRequest): Promise<void> {
    return Promise.reject(new DomainError('unavailable', 'service actions need the apps module, which this hub does not run'));
  }
}
