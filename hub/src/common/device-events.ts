import { EventEmitter } from 'node:events';
import { Injectable } from '@nestjs/common';

/**
 * In-process domain events about devices. Features that change a device (presence, enrollment,
 * rename, revoke) announce it here; the live views (SSE) listen. Keeps features decoupled.
 */
@Injectable()
export class DeviceEvents {
  private readonly emitter = new EventEmitter();

  constructor() {
    // One listener per open SSE stream; the cap is enforced by the SSE controller, not here.
    this.emitter.setMaxListeners(0);
  }

  /** A device row changed (presence, name, tags, status...). */
  changed(deviceId: string): void {
    this.emitter.emit('changed', deviceId);
  }

  onChanged(listener: (deviceId: string) => void): () => void {
    this.emitter.on('changed', listener);
    return () => this.emitter.off('changed', listener);
  }
}
