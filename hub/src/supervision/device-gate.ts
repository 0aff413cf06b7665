import { Injectable, type OnModuleDestroy } from '@nestjs/common';
import { DomainEvents } from '../common/domain-events.js';
import { DevicesRepository } from '../devices/devices.repository.js';

export type GateVerdict = 'active' | 'revoked' | 'unknown' | 'unverified';

/** Most devices remembered; past it the memory starts over (a lookup each costs one small query). */
const MAX_ENTRIES = 100_000;
/** An id with no device row is asked again after this (it cannot publish before enrolling anyway). */
const UNKNOWN_TTL_MS = 10_000;

/**
 * Whether a topic's device may still deliver supervision data: enrolled and not revoked. The
 * broker's ACL already pins a device to its own subtree, but a revoked device's messages can
 * still be in flight (or queued in the hub's session), and they must not land. Answers are
 * remembered (one lookup per device, not per message); revocation is learnt from
 * `device.revoked` at once.
 */
@Injectable()
export class DeviceGate implements OnModuleDestroy {
  private readonly known = new Map<string, { status: 'active' | 'revoked' | 'unknown'; at: number }>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly devices: DevicesRepository,
    events: DomainEvents,
  ) {
    this.unsubscribe = events.on('device.revoked', ({ deviceId }) => this.remember(deviceId, 'revoked'));
  }

  onModuleDestroy(): void {
    this.unsubscribe();
  }

  /**
   * `unverified` when the database could not be asked: the caller lets the message through (a
   * device the broker authenticated is almost always enrolled; the tables' foreign keys refuse
   * an unknown one), rather than losing data during a database hiccup.
   */
  async check(deviceId: string): Promise<GateVerdict> {
    const k = this.known.get(deviceId);
    if (k && (k.status !== 'unknown' || Date.now() - k.at < UNKNOWN_TTL_MS)) return k.status;
    try {
      const [d] = await this.devices.findByIds([deviceId]);
      // A revocation learnt while the row was read wins (revoked is final: re-enrolling gives a new id).
      if (this.known.get(deviceId)?.status === 'revoked') return 'revoked';
      const status = !d ? 'unknown' : d.status === 'revoked' ? 'revoked' : 'active';
      this.remember(deviceId, status);
      return status;
    } catch {
      return 'unverified';
    }
  }

  private remember(deviceId: string, status: 'active' | 'revoked' | 'unknown'): void {
    if (this.known.size >= MAX_ENTRIES && !this.known.has(deviceId)) this.known.clear();
    this.known.set(deviceId, { status, at: Date.now() });
  }
}
