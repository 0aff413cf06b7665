import { Injectable } from '@nestjs/common';
import type { SupervisionEventData } from '@pifleet/protocol';
import type { Device, DeviceContainers, ServiceActionRequest, ServiceEvent, ServiceRecord } from '../contract.js';
import type { Caller } from '../auth/roles.decorator.js';
import { DomainError } from '../common/errors.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { FleetsService } from '../fleets/fleets.service.js';
import { deviceContainers, isTroubled } from './containers.js';
import { DesiredSide } from './desired-side.js';
import { ReportedRepository, type ReportedRow } from './reported.repository.js';
import { ServiceEventsRepository, type StoredEvent } from './service-events.repository.js';

/** Device ids per troubles query (bind parameters stay far below Postgres' limit). */
const TROUBLES_CHUNK = 5000;

/** The reported side as operators read it: containers per device, restart history, fleet troubles. */
@Injectable()
export class ContainersService {
  constructor(
    private readonly devices: DevicesRepository,
    private readonly reported: ReportedRepository,
    private readonly events: ServiceEventsRepository,
    private readonly desired: DesiredSide,
    private readonly fleets: FleetsService,
  ) {}

  /** The device's containers from its desired state, controls and `reported` (read when not given). */
  async build(device: Pick<Device, 'id' | 'name' | 'online'>, reported?: ReportedRow | null): Promise<DeviceContainers> {
    const [rep, desired, controls] = await Promise.all([
      reported === undefined ? this.reported.get(device.id) : reported ?? undefined,
      this.desired.current(device.id),
      this.desired.controlsFor(device.id),
    ]);
    return deviceContainers({ device, desired, controls, reported: rep ?? undefined });
  }

  async forDevice(idOrName: string): Promise<DeviceContainers> {
    return this.build(await this.require(idOrName));
  }

  async history(idOrName: string, app: string, service: string, limit: number): Promise<ServiceEvent[]> {
    const d = await this.require(idOrName);
    return (await this.events.history(d.id, app, service, limit)).map(toServiceEvent);
  }

  /** Services of the fleet's active devices that are crash-looping or FATAL by their last report. */
  async troubles(fleet: string): Promise<ServiceRecord[]> {
    await this.fleets.require(fleet);
    const members = (await this.devices.list({ fleet })).filter((d) => d.status === 'active');
    const byId = new Map(members.map((d) => [d.id, d]));
    const ids = [...byId.keys()];
    const out: ServiceRecord[] = [];
    for (let i = 0; i < ids.length; i += TROUBLES_CHUNK) {
      for (const row of await this.reported.troubled(ids.slice(i, i + TROUBLES_CHUNK))) {
        const c = await this.build(byId.get(row.deviceId)!, row);
        out.push(...c.services.filter(isTroubled));
      }
    }
    return out.sort((a, b) => a.device.localeCompare(b.device) || a.app.localeCompare(b.app) || a.service.localeCompare(b.service));
  }

  /**
   * An operator's action on services of one device: recorded as controls by the apps module
   * (which sends them to the device), then the containers as they stand.
   */
  async action(caller: Caller, idOrName: string, req: ServiceActionRequest): Promise<DeviceContainers> {
    const d = await this.require(idOrName);
    if (d.status === 'revoked') throw new DomainError('conflict', `device ${d.name} is revoked`);
    if (req.app !== undefined) {
      const desired = await this.desired.current(d.id);
      const app = desired?.apps[req.app];
      if (!app) throw new DomainError('bad_request', `device ${d.name} runs no app ${req.app}`);
      if (req.service !== undefined && !app.services[req.service]) throw new DomainError('bad_request', `app ${req.app} on ${d.name} has no service ${req.service}`);
    }
    await this.desired.apply(caller, d.id, req);
    return this.build(d);
  }

  private async require(idOrName: string): Promise<Device> {
    const d = await this.devices.findByIdOrName(idOrName);
    if (!d) throw new DomainError('not_found', `no device ${idOrName}`);
    return d;
  }
}

function toServiceEvent(r: StoredEvent): ServiceEvent {
  const d = r.data as Partial<SupervisionEventData>;
  return {
    eventId: r.eventId,
    deviceId: r.deviceId,
    app: r.app,
    service: r.service,
    from: r.fromState,
    to: r.toState,
    reason: r.reason,
    at: r.at.toISOString(),
    exitCode: r.exitCode,
    oomKilled: d.oomKilled ?? false,
    runMs: d.runMs ?? null,
    restarts: d.restarts ?? null,
    delayMs: d.delayMs ?? null,
    crashLoop: d.crashLoop ?? false,
    logTail: d.logTail ?? [],
    message: d.message ?? null,
    receivedAt: r.receivedAt.toISOString(),
  };
}
