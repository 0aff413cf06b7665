import type { Caller } from '../auth/roles.decorator.js';
import type { ServiceActionRequest } from '../contract.js';

/** The desired state of one device, as far as showing its containers needs it. */
export interface DesiredView {
  version: number;
  apps: Record<string, { release: number; services: Record<string, { image: string }> }>;
}

/** Operator controls in force, per app and service. */
export type ControlsView = Record<string, Record<string, { stopped: boolean; pausedUntil: number | null }>>;

/**
 * What supervision needs from the desired side (the apps module) and from the audit log, in
 * the shapes supervision uses. Supervision only reads the desired state and asks for it to be
 * sent again; deciding what a device runs stays with the apps module.
 */
export abstract class DesiredSide {
  /** The desired state last computed for the device; null when it has none. */
  abstract current(deviceId: string): Promise<DesiredView | null>;
  /** Sends the device its current desired state again (it asked with `evt/sync`). */
  abstract publishTo(deviceId: string): Promise<void>;
  abstract controlsFor(deviceId: string): Promise<ControlsView>;
  /** Records an operator's action as controls (and publishes them); throws DomainError on bad input. */
  abstract apply(actor: Caller, deviceId: string, req: ServiceActionRequest): Promise<void>;
}

export interface AuditRecord {
  actor: Caller;
  action: string;
  targetType: string;
  target: string;
  result: 'ok' | 'error';
  detail?: Record<string, unknown>;
}

export abstract class AuditSide {
  abstract record(entry: AuditRecord): Promise<void>;
}
