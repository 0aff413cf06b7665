import { Injectable, type OnModuleInit } from '@nestjs/common';
import type { StateReportedMessage } from '@pifleet/protocol';
import type { Alert, AlertKind } from '../contract.js';
import type { Caller } from '../auth/roles.decorator.js';
import { AuditService } from '../audit/audit.service.js';
import { DomainEvents } from '../common/domain-events.js';
import { DomainError } from '../common/errors.js';
import { randomId } from '../common/ids.js';
import { MetricsService } from '../common/metrics.service.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { iso } from '../http/iso.js';
import { UsersRepository } from '../users/users.repository.js';
import { alertConditions, conditionKey } from './alert-rules.js';
import { AlertsRepository, type AlertRow } from './alerts.repository.js';

export interface AlertQuery {
  open?: boolean;
  deviceId?: string;
  limit: number;
}

/**
 * Raises and resolves alerts from reported states, one open alert per (device, kind, app,
 * service). The open ones are held in memory (loaded at start, a handful per troubled device),
 * so judging a report costs no read; only a change writes. Callers judge one device at a time
 * (the reported-state announcer is a single worker), which is what keeps "one open alert per
 * key" true without a unique index. Every raise, resolve and acknowledgement is announced as
 * `alert.changed` (the live stream's `alert` event, the webhook).
 */
@Injectable()
export class AlertsService implements OnModuleInit {
  /** deviceId -> condition key -> open alert. */
  private readonly open = new Map<string, Map<string, AlertRow>>();
  private readonly openGauge;
  private readonly raised;

  constructor(
    private readonly repo: AlertsRepository,
    private readonly devices: DevicesRepository,
    private readonly users: UsersRepository,
    private readonly events: DomainEvents,
    private readonly audit: AuditService,
    metrics: MetricsService,
  ) {
    this.openGauge = metrics.gauge('pifleet_alerts_open', 'Alerts raised and not yet resolved');
    this.raised = metrics.counter('pifleet_alerts_raised_total', 'Alerts raised, by kind', ['kind']);
  }

  async onModuleInit(): Promise<void> {
    for (const a of await this.repo.open()) this.byDevice(a.deviceId).set(conditionKey(a), a);
    this.updateGauge();
  }

  /**
   * Brings the device's open alerts in line with what its newest report shows. Throws when the
   * database is away: the caller keeps the report and judges it again later (what was written
   * before the failure is in memory already, so nothing is raised twice).
   */
  async judge(deviceId: string, deviceName: string, report: StateReportedMessage): Promise<void> {
    const now = new Date();
    const present = new Map(alertConditions(report).map((c) => [conditionKey(c), c]));
    const open = this.byDevice(deviceId);
    for (const [key, a] of [...open]) {
      if (present.has(key)) continue;
      const r = (await this.repo.resolve(a.id, now)) ?? { ...a, resolvedAt: now };
      open.delete(key);
      this.events.emit('alert.changed', await this.toAlert(r, deviceName));
    }
    for (const [key, c] of present) {
      if (open.has(key)) continue;
      const r = await this.repo.insert({ id: randomId(16), deviceId, kind: c.kind, app: c.app, service: c.service, message: c.message, raisedAt: now });
      open.set(key, r);
      this.raised.inc({ kind: c.kind });
      this.events.emit('alert.changed', await this.toAlert(r, deviceName));
    }
    if (open.size === 0) this.open.delete(deviceId);
    this.updateGauge();
  }

  /** Resolves every open alert of the device (it was revoked: nothing it had can clear any more). */
  async closeAll(deviceId: string, deviceName: string): Promise<void> {
    const open = this.open.get(deviceId);
    if (!open) return;
    const now = new Date();
    for (const [key, a] of [...open]) {
      const r = (await this.repo.resolve(a.id, now)) ?? { ...a, resolvedAt: now };
      open.delete(key);
      this.events.emit('alert.changed', await this.toAlert(r, deviceName));
    }
    this.open.delete(deviceId);
    this.updateGauge();
  }

  async list(q: AlertQuery): Promise<Alert[]> {
    const rows = await this.repo.list(q);
    const names = new Map((await this.devices.findByIds([...new Set(rows.map((r) => r.deviceId))])).map((d) => [d.id, d.name]));
    const users = rows.some((r) => r.ackedBy) ? await this.usernames() : new Map<string, string>();
    return rows.map((r) => toAlert(r, names.get(r.deviceId) ?? r.deviceId, users));
  }

  /** Acknowledges (audited); a second acknowledgement keeps the first one's who and when. */
  async ack(caller: Caller, id: string): Promise<Alert> {
    return this.audit.track(
      { actor: caller, action: 'alert.ack', targetType: 'alert', target: id },
      async () => {
        const r = await this.repo.ack(id, caller.userId, new Date());
        if (!r) throw new DomainError('not_found', `no alert ${id}`);
        const [d] = await this.devices.findByIds([r.deviceId]);
        const alert = await this.toAlert(r, d?.name ?? r.deviceId);
        this.events.emit('alert.changed', alert);
        return alert;
      },
      (a) => ({ detail: { name: a.device, kind: a.kind, app: a.app, service: a.service } }),
    );
  }

  /** Open alerts held in memory for a device (tests, the troubles view). */
  openFor(deviceId: string): { kind: AlertKind; app: string; service: string }[] {
    return [...(this.open.get(deviceId)?.values() ?? [])].map((a) => ({ kind: a.kind as AlertKind, app: a.app, service: a.service }));
  }

  private byDevice(deviceId: string): Map<string, AlertRow> {
    let m = this.open.get(deviceId);
    if (!m) this.open.set(deviceId, (m = new Map()));
    return m;
  }

  private updateGauge(): void {
    let n = 0;
    for (const m of this.open.values()) n += m.size;
    this.openGauge.set(n);
  }

  private async toAlert(r: AlertRow, deviceName: string): Promise<Alert> {
    return toAlert(r, deviceName, r.ackedBy ? await this.usernames() : new Map());
  }

  private async usernames(): Promise<Map<string, string>> {
    return new Map((await this.users.list()).map((u) => [u.id, u.username]));
  }
}

function toAlert(r: AlertRow, device: string, users: Map<string, string>): Alert {
  return {
    id: r.id,
    deviceId: r.deviceId,
    device,
    kind: r.kind as AlertKind,
    app: r.app || null,
    service: r.service || null,
    message: r.message,
    raisedAt: iso(r.raisedAt),
    resolvedAt: iso(r.resolvedAt),
    // A user since deleted shows as null (the column is set null with it).
    ackedBy: r.ackedBy ? (users.get(r.ackedBy) ?? r.ackedBy) : null,
    ackedAt: iso(r.ackedAt),
  };
}
