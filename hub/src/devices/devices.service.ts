import { Inject, Injectable } from '@nestjs/common';
import type { Logger } from 'pino';
import type { Device, IngestDrop, Overview, TelemetrySeries } from '../contract.js';
import type { BrokerAdmin } from '../broker/broker-admin.js';
import { DomainEvents } from '../common/domain-events.js';
import { DomainError } from '../common/errors.js';
import { BROKER_ADMIN, LOGGER } from '../common/tokens.js';
import { IngestDrops } from '../ingest/ingest-drops.service.js';
import { TelemetryService } from '../telemetry/telemetry.service.js';
import { nextTags, type DeviceQuery, type TelemetryQuery, type UpdateDeviceInput } from './devices.dto.js';
import { DevicesRepository } from './devices.repository.js';

@Injectable()
export class DevicesService {
  constructor(
    private readonly repo: DevicesRepository,
    private readonly telemetry: TelemetryService,
    private readonly events: DomainEvents,
    private readonly ingestDrops: IngestDrops,
    @Inject(BROKER_ADMIN) private readonly broker: BrokerAdmin,
    @Inject(LOGGER) private readonly log: Logger,
  ) {}

  async list(q: DeviceQuery = {}): Promise<Device[]> {
    return this.withTelemetry(await this.repo.list(q));
  }

  /** Devices by id, with their latest telemetry (used by the live feed). */
  async byIds(ids: string[]): Promise<Device[]> {
    return this.withTelemetry(await this.repo.findByIds(ids));
  }

  async get(idOrName: string): Promise<Device> {
    const [d] = await this.withTelemetry([await this.require(idOrName)]);
    return d!;
  }

  async update(idOrName: string, u: UpdateDeviceInput): Promise<Device> {
    const d = await this.require(idOrName);
    if (u.name !== undefined && u.name !== d.name && !(await this.repo.rename(d.id, u.name))) {
      throw new DomainError('conflict', `another device is already named ${u.name}`);
    }
    if (u.tags || u.addTags || u.removeTags) {
      const tags = nextTags(d.tags, u);
      if (tags.length > 32) throw new DomainError('bad_request', 'at most 32 tags per device');
      await this.repo.setTags(d.id, tags);
    }
    this.events.emit('device.changed', { deviceId: d.id });
    return this.get(d.id);
  }

  /**
   * Revocation: the row is marked first, so the broker's credential check refuses
   * any reconnect, then the broker drops the live session. Repeating a revoke retries the kick.
   */
  async revoke(idOrName: string): Promise<Device> {
    const d = await this.require(idOrName);
    await this.repo.markRevoked(d.id);
    this.events.emit('device.changed', { deviceId: d.id });
    this.events.emit('device.revoked', { deviceId: d.id });
    try {
      await this.broker.removeDevice(d.id);
    } catch (err) {
      this.log.error({ err, deviceId: d.id }, 'broker did not confirm the revoked device was disconnected');
      throw new DomainError('unavailable', 'device marked revoked, but the broker did not confirm the disconnect; retry');
    }
    this.log.info({ deviceId: d.id, name: d.name }, 'device revoked');
    return this.get(d.id);
  }

  async history(idOrName: string, q: TelemetryQuery): Promise<TelemetrySeries> {
    const d = await this.require(idOrName);
    return this.telemetry.history(d.id, q);
  }

  async drops(idOrName: string): Promise<IngestDrop[]> {
    const d = await this.require(idOrName);
    return (await this.ingestDrops.forDevice(d.id)).map((t) => ({
      stream: t.stream,
      reason: t.reason,
      count: t.count,
      firstAt: t.firstAt.toISOString(),
      lastAt: t.lastAt.toISOString(),
    }));
  }

  overview(): Promise<Overview> {
    return this.repo.overview();
  }

  private async require(idOrName: string): Promise<Device> {
    const d = await this.repo.findByIdOrName(idOrName);
    if (!d) throw new DomainError('not_found', `no device ${idOrName}`);
    return d;
  }

  private async withTelemetry(list: Device[]): Promise<Device[]> {
    if (list.length === 0) return list;
    const latest = await this.telemetry.latest(list.map((d) => d.id));
    return list.map((d) => ({ ...d, lastTelemetry: latest.get(d.id) ?? null }));
  }
}
