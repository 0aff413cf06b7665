import { type CanActivate, type ExecutionContext, Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Request } from 'express';
import { DeviceCredentials } from '../broker/device-credentials.js';
import { DomainEvents } from '../common/domain-events.js';
import { DomainError } from '../common/errors.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';

/**
 * Devices download bundles with the credentials they already hold: HTTP Basic with their device
 * id and MQTT password, checked against the same stored hash the broker checks. A revoked device
 * is refused at once (the revocation event), an unknown one or a wrong password likewise: 401.
 */
@Injectable()
export class DeviceAuth implements OnModuleDestroy {
  readonly credentials: DeviceCredentials;
  private readonly off: () => void;

  constructor(@Inject(DB) db: Db, events: DomainEvents) {
    this.credentials = new DeviceCredentials(db);
    this.off = events.on('device.revoked', ({ deviceId }) => this.credentials.revoke(deviceId));
  }

  onModuleDestroy(): void {
    this.off();
  }
}

/** `Basic base64(id:password)` split, or undefined when the header is not that. */
export function basicCredentials(header: string | undefined): { id: string; password: string } | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=]{1,1024})$/i.exec(header) : null;
  if (!m) return undefined;
  const text = Buffer.from(m[1]!, 'base64').toString('utf8');
  const colon = text.indexOf(':');
  if (colon <= 0) return undefined;
  return { id: text.slice(0, colon), password: text.slice(colon + 1) };
}

export interface DeviceCaller {
  deviceId: string;
}

@Injectable()
export class DeviceAuthGuard implements CanActivate {
  constructor(private readonly auth: DeviceAuth) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const req = ctx.switchToHttp().getRequest<Request & { device?: DeviceCaller }>();
    const creds = basicCredentials(req.headers.authorization);
    // Device ids are short [a-z0-9]; anything else cannot be one and needs no lookup.
    if (!creds || !/^[a-z0-9]{1,64}$/.test(creds.id) || !(await this.auth.credentials.verify(creds.id, Buffer.from(creds.password, 'utf8')))) {
      throw new DomainError('unauthenticated', 'device credentials required: HTTP Basic with the device id and its MQTT password');
    }
    req.device = { deviceId: creds.id };
    return true;
  }
}
