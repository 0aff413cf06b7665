import { Injectable } from '@nestjs/common';
import { DomainEvents } from './domain-events.js';

/**
 * Shim over DomainEvents for emitters not yet moved to the typed events: `changed(id)` is
 * `device.changed`. To be removed once every emitter uses DomainEvents.
 */
@Injectable()
export class DeviceEvents {
  constructor(private readonly domain: DomainEvents) {}

  changed(deviceId: string): void {
    this.domain.emit('device.changed', { deviceId });
  }
}
