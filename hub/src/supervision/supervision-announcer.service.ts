import { type BeforeApplicationShutdown, Inject, Injectable, type OnApplicationBootstrap } from '@nestjs/common';
import type { Logger } from 'pino';
import { DomainEvents } from '../common/domain-events.js';
import { LOGGER } from '../common/tokens.js';
import { DevicesRepository } from '../devices/devices.repository.js';
import { retryDelayMs } from '../ingest/isolating-write.js';
import { AlertsService } from './alerts.service.js';
import { ContainersService } from './containers.service.js';
import { ReportedRepository, type ReportedRow } from './reported.repository.js';

/** Devices looked up in one query. */
const CHUNK = 200;

/**
 * Turns stored reports into what operators see: the device's containers (`containers.changed`,
 * the live stream's `containers` event) and its alerts. Also re-announces the containers of a
 * device with a report when its row changes (offline makes every service UNKNOWN). One worker,
 * one pending entry per device (a newer report replaces the one waiting), so a reconnect storm
 * costs one computation per device and the pending set is bounded by the fleet. The report
 * itself comes from memory; only the device row, desired state and controls are read.
 */
@Injectable()
export class SupervisionAnnouncer implements OnApplicationBootstrap, BeforeApplicationShutdown {
  /** deviceId -> the stored report to judge; null: re-announce from what is stored; 'revoked': close its alerts. */
  private readonly pending = new Map<string, ReportedRow | null | 'revoked'>();
  /** Devices with a stored report; a row change of any other device concerns no container. */
  private readonly reporting = new Set<string>();
  private working?: Promise<void>;
  private retry?: NodeJS.Timeout;
  private failures = 0;
  private stopped = false;
  private readonly unsubscribe: (() => void)[];

  constructor(
    private readonly devices: DevicesRepository,
    private readonly reports: ReportedRepository,
    private readonly containers: ContainersService,
    private readonly alerts: AlertsService,
    private readonly events: DomainEvents,
    @Inject(LOGGER) private readonly log: Logger,
  ) {
    this.unsubscribe = [
      events.on('device.changed', ({ deviceId }) => {
        if (this.reporting.has(deviceId) && !this.pending.has(deviceId)) this.mark(deviceId, null);
      }),
      // A revoked device reports no more: its alerts could never clear. Judged by the same worker,
      // after any report of it still pending, so nothing is raised again behind the close.
      events.on('device.revoked', ({ deviceId }) => {
        this.reporting.delete(deviceId);
        this.pending.delete(deviceId);
        this.mark(deviceId, 'revoked');
      }),
    ];
  }

  async onApplicationBootstrap(): Promise<void> {
    try {
      for (const id of await this.reports.deviceIds()) this.reporting.add(id);
    } catch (err) {
      // Devices report again on every change; until then their offline spells are not re-announced.
      this.log.warn({ err }, 'devices with reported states not loaded');
    }
  }

  async beforeApplicationShutdown(): Promise<void> {
    this.stopped = true;
    for (const u of this.unsubscribe) u();
    clearTimeout(this.retry);
    await this.working;
  }

  /** A report was stored (called by the ingest right after its commit). */
  reported(row: ReportedRow): void {
    const queued = this.pending.get(row.deviceId);
    if (queued === 'revoked' || (queued && queued.state.ts > row.state.ts)) return;
    this.reporting.add(row.deviceId);
    this.mark(row.deviceId, row);
  }

  /** Resolves when every pending announcement is done (tests). */
  async idle(): Promise<void> {
    while (this.working) await this.working;
  }

  private mark(deviceId: string, row: ReportedRow | null | 'revoked'): void {
    this.pending.set(deviceId, row);
    this.kick();
  }

  private kick(): void {
    if (this.stopped || this.retry) return;
    this.working ??= this.drain().finally(() => {
      this.working = undefined;
      // Marked after the worker's last look at `pending`: not left waiting for the next mark.
      if (this.pending.size > 0) this.kick();
    });
  }

  private async drain(): Promise<void> {
    while (this.pending.size > 0 && !this.stopped) {
      const batch = [...this.pending.entries()].slice(0, CHUNK);
      for (const [id] of batch) this.pending.delete(id);
      const done = new Set<string>();
      try {
        const rows = new Map((await this.devices.findByIds(batch.map(([id]) => id))).map((d) => [d.id, d]));
        for (const [id, report] of batch) {
          const d = rows.get(id);
          if (report === 'revoked') {
            if (d) await this.alerts.closeAll(id, d.name);
          } else if (d) {
            // Building the containers reads the desired state and controls: only for live views that listen.
            if (this.events.listens('containers.changed')) this.events.emit('containers.changed', await this.containers.build(d, report ?? undefined));
            if (report) await this.alerts.judge(id, d.name, report.state);
          }
          done.add(id);
        }
        this.failures = 0;
      } catch (err) {
        // The database is away: what was not done goes back (unless a newer report came) and is
        // tried again after a growing pause.
        for (const [id, report] of batch) if (!done.has(id) && !this.pending.has(id)) this.pending.set(id, report);
        this.failures++;
        const delay = retryDelayMs(this.failures);
        this.log.warn({ err, pending: this.pending.size, retryInMs: delay }, 'containers and alerts not updated; will retry');
        this.retry = setTimeout(() => {
          this.retry = undefined;
          this.kick();
        }, delay);
        return;
      }
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  }
}
