import { Injectable } from '@nestjs/common';
import type { Alert, DeviceContainers, TelemetryPoint } from '../contract.js';

/**
 * Every in-process domain event of the hub and its payload: one map, so an emitter and its
 * listeners cannot disagree on a name or a shape. Features announce what happened here; others
 * (live views, later the tunnel and alerting) listen, so no feature calls into another's internals.
 */
export interface DomainEventMap {
  /** A device's row changed (presence, name, tags, status, enrollment): live views re-read it. */
  'device.changed': { deviceId: string };
  /** A device was revoked (its row is marked first): whatever it holds open must end now. */
  'device.revoked': { deviceId: string };
  /** Telemetry was stored; `point` is the device's newest sample of the write, sent to live views as is. */
  'telemetry.stored': { deviceId: string; point: TelemetryPoint; receivedAt: Date };
  /** A device's containers as the hub shows them changed (a reported state stored); sent to live views as is. */
  'containers.changed': DeviceContainers;
  /** An alert was raised, resolved or acknowledged; sent to live views (and the webhook) as is. */
  'alert.changed': Alert;
  /**
   * An image bundle was stored or removed: releases whose images it holds (or held) resolve to a
   * different bundle now, so desired states that name those refs need recomputing.
   */
  'images.changed': { bundleId: string; refs: string[]; change: 'stored' | 'removed' };
}

export type DomainEventName = keyof DomainEventMap;
export type DomainListener<K extends DomainEventName> = (payload: DomainEventMap[K]) => void;

/**
 * The hub's typed, synchronous event bus. A listener that throws is reported and skipped: one
 * faulty subscriber must not stop the emitter (a telemetry write, a presence update) or the
 * other listeners. Listeners must be quick; slow work belongs in a queue of their own.
 */
@Injectable()
export class DomainEvents {
  private readonly listeners = new Map<DomainEventName, Set<DomainListener<never>>>();
  /** Listener failures, for tests and the log; set by whoever owns a logger (CoreModule). */
  onListenerError: (name: DomainEventName, err: unknown) => void = () => undefined;

  emit<K extends DomainEventName>(name: K, payload: DomainEventMap[K]): void {
    const set = this.listeners.get(name);
    if (!set) return;
    for (const l of set) {
      try {
        (l as DomainListener<K>)(payload);
      } catch (err) {
        this.onListenerError(name, err);
      }
    }
  }

  /** Whether anyone listens for `name`: an emitter may skip building a payload nobody reads. */
  listens(name: DomainEventName): boolean {
    return (this.listeners.get(name)?.size ?? 0) > 0;
  }

  /** Subscribes; the returned function unsubscribes. */
  on<K extends DomainEventName>(name: K, listener: DomainListener<K>): () => void {
    let set = this.listeners.get(name);
    if (!set) this.listeners.set(name, (set = new Set()));
    set.add(listener as DomainListener<never>);
    return () => void set.delete(listener as DomainListener<never>);
  }
}
