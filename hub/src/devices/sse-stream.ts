import type { ServerResponse } from 'node:http';
import type { Alert, Device, DeviceContainers, LiveEventMap, TelemetryUpdate } from '../contract.js';
import type { FeedBatch } from './device-feed.service.js';

export const HEARTBEAT_MS = 15_000;
/** Devices waiting for a slow client; past this the stream falls back to a fresh snapshot. */
export const MAX_PENDING = 5_000;
/** A client that has not read anything for this long is dropped. */
const STALL_MS = 60_000;

/**
 * One SSE connection (the pattern dozzle uses): `snapshot` first, then `device`, `telemetry`,
 * `containers` and `alert` deltas, comments as heartbeat. Honours backpressure: while the socket is full, deltas wait in
 * per-device maps (latest wins, bounded); if one overflows the client gets a new snapshot once it
 * drains (a snapshot carries each device's latest telemetry too).
 */
export class SseStream {
  private readonly pending = new Map<string, Device>();
  private readonly pendingTelemetry = new Map<string, TelemetryUpdate>();
  private readonly pendingContainers = new Map<string, DeviceContainers>();
  private readonly pendingAlerts = new Map<string, Alert>();
  private ready = false;
  private resnapshot = false;
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private stallTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly res: ServerResponse,
    private readonly snapshot: () => Promise<Device[]>,
    private readonly onClose: () => void,
  ) {
    res.statusCode = 200;
    res.setHeader('Content-Type', 'text/event-stream; charset=utf-8');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.on('close', () => this.close());
    res.on('drain', () => void this.drain());
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), HEARTBEAT_MS);
  }

  /** Sends the snapshot; deltas received meanwhile are held and sent after it. */
  async start(): Promise<void> {
    await this.sendSnapshot();
    this.ready = true;
    this.flushPending();
  }

  push(batch: FeedBatch): void {
    if (this.closed) return;
    for (const d of batch.devices ?? []) this.pending.set(d.id, d);
    for (const t of batch.telemetry ?? []) this.pendingTelemetry.set(t.deviceId, t);
    for (const c of batch.containers ?? []) this.pendingContainers.set(c.deviceId, c);
    for (const a of batch.alerts ?? []) this.pendingAlerts.set(a.id, a);
    if (this.pending.size > MAX_PENDING || this.pendingTelemetry.size > MAX_PENDING) {
      this.pending.clear();
      this.pendingTelemetry.clear();
      this.resnapshot = true;
    }
    // The snapshot carries neither: a client that fell this far behind refetches them (GET containers, alerts).
    if (this.pendingContainers.size > MAX_PENDING || this.pendingAlerts.size > MAX_PENDING) {
      this.pendingContainers.clear();
      this.pendingAlerts.clear();
    }
    if (this.ready && !this.res.writableNeedDrain) this.flushPending();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.pending.clear();
    this.pendingTelemetry.clear();
    this.pendingContainers.clear();
    this.pendingAlerts.clear();
    if (!this.res.writableEnded) this.res.end();
    this.onClose();
  }

  private async sendSnapshot(): Promise<void> {
    this.resnapshot = false;
    const devices = await this.snapshot();
    this.send('snapshot', { devices });
  }

  private flushPending(): void {
    if (this.resnapshot) {
      void this.drain();
      return;
    }
    for (const [id, d] of this.pending) {
      this.pending.delete(id);
      if (!this.send('device', d)) return;
    }
    for (const [id, t] of this.pendingTelemetry) {
      this.pendingTelemetry.delete(id);
      if (!this.send('telemetry', t)) return;
    }
    for (const [id, c] of this.pendingContainers) {
      this.pendingContainers.delete(id);
      if (!this.send('containers', c)) return;
    }
    for (const [id, a] of this.pendingAlerts) {
      this.pendingAlerts.delete(id);
      if (!this.send('alert', a)) return;
    }
  }

  private async drain(): Promise<void> {
    if (this.closed || !this.ready || this.res.writableNeedDrain) return;
    if (this.stallTimer) clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    if (this.resnapshot) {
      this.pending.clear();
      this.pendingTelemetry.clear();
      try {
        await this.sendSnapshot();
      } catch {
        this.close();
        return;
      }
    }
    this.flushPending();
  }

  /** One named event (the names and shapes are the contract's LiveEventMap). */
  private send<K extends keyof LiveEventMap>(event: K, data: LiveEventMap[K]): boolean {
    return this.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Returns false when the socket is full; the caller stops and waits for 'drain'. */
  private write(chunk: string): boolean {
    if (this.closed) return false;
    const ok = this.res.write(chunk);
    if (!ok) this.stallTimer ??= setTimeout(() => this.close(), STALL_MS);
    return ok;
  }
}
