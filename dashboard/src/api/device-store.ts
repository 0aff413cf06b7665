/**
 * The app's single live view of the fleet, fed by ONE SSE connection to /api/events (the dozzle
 * model): the hub subscribes us first, then sends a `snapshot`, then a `device` event per change
 * of a device's row and a `telemetry` event with each device's newest sample.
 * On every (re)connect the new snapshot replaces the whole state, so nothing missed while the
 * link was down can linger. Reconnects use full-jitter exponential backoff.
 * `containers` and `alert` events are not kept here: they go straight to the views that asked
 * for them (onLive), which fetch their own starting point and fetch it again on each new
 * snapshot (`session`), since the snapshot does not carry them.
 */
import { ApiError, describeError } from './client';
import { readSse } from './sse';
import type { Device, LiveEventMap } from '../types';

export type StreamPhase = 'connecting' | 'live' | 'retrying';

export interface DeviceStoreSnapshot {
  /** Sorted by name. */
  devices: Device[];
  /** False until the first snapshot arrives. */
  loaded: boolean;
  phase: StreamPhase;
  error: string | null;
  retryAt: number | null;
  /** Bumps on every applied change; lets views refetch derived data (e.g. the overview). */
  version: number;
  /** Bumps on every snapshot (each (re)connect): views that hold fetched data refetch it. */
  session: number;
}

/** Events passed on as they come rather than kept in the store. */
export type TapEvent = 'containers' | 'alert';

const MAX_BACKOFF_MS = 30_000;
/** Deltas are coalesced so a burst (hub restart: every device reconnects) renders once. */
const EMIT_EVERY_MS = 150;

export class DeviceStore {
  private byId = new Map<string, Device>();
  private listeners = new Set<() => void>();
  private snap: DeviceStoreSnapshot = { devices: [], loaded: false, phase: 'connecting', error: null, retryAt: null, version: 0, session: 0 };
  private taps: { [K in TapEvent]: Set<(v: LiveEventMap[K]) => void> } = { containers: new Set(), alert: new Set() };
  private pending: ReturnType<typeof setTimeout> | undefined;
  private abort: AbortController | undefined;

  subscribe = (l: () => void): (() => void) => {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  };

  getSnapshot = (): DeviceStoreSnapshot => this.snap;

  /** Calls `l` with each `name` event from the stream; returns the unsubscribe. */
  onLive<K extends TapEvent>(name: K, l: (v: LiveEventMap[K]) => void): () => void {
    const set = this.taps[name] as Set<(v: LiveEventMap[K]) => void>;
    set.add(l);
    return () => set.delete(l);
  }

  private tap<K extends TapEvent>(name: K, data: string): void {
    const v = JSON.parse(data) as LiveEventMap[K];
    for (const l of this.taps[name] as Set<(v: LiveEventMap[K]) => void>) {
      try {
        l(v);
      } catch (err) {
        // One broken view must not stop the stream for the others.
        console.error(`live ${name} listener failed`, err);
      }
    }
  }

  start(): void {
    if (this.abort) return;
    this.abort = new AbortController();
    void this.run(this.abort.signal);
  }

  stop(): void {
    this.abort?.abort();
    this.abort = undefined;
    clearTimeout(this.pending);
  }

  private async run(signal: AbortSignal): Promise<void> {
    let attempt = 0;
    while (!signal.aborted) {
      let error: string;
      try {
        await readSse('/api/events', signal, (ev) => {
          if (ev.event === 'snapshot') {
            const { devices } = JSON.parse(ev.data) as LiveEventMap['snapshot'];
            this.byId = new Map(devices.map((d) => [d.id, d]));
            attempt = 0;
            this.update({ loaded: true, phase: 'live', error: null, retryAt: null, session: this.snap.session + 1 }, true);
          } else if (ev.event === 'device') {
            const d = JSON.parse(ev.data) as LiveEventMap['device'];
            this.byId.set(d.id, d);
            this.update({}, false);
          } else if (ev.event === 'telemetry') {
            const t = JSON.parse(ev.data) as LiveEventMap['telemetry'];
            const d = this.byId.get(t.deviceId);
            if (!d) return; // not in our snapshot (yet): its row event brings it with its telemetry
            const seen = d.lastSeenAt && d.lastSeenAt > t.receivedAt ? d.lastSeenAt : t.receivedAt;
            // Late buffered samples can be older than what we show: keep the newer point.
            const newer = !d.lastTelemetry || t.point.ts >= d.lastTelemetry.ts;
            this.byId.set(d.id, { ...d, lastTelemetry: newer ? t.point : d.lastTelemetry, lastSeenAt: seen });
            this.update({}, false);
          } else if (ev.event === 'containers' || ev.event === 'alert') {
            this.tap(ev.event, ev.data);
          }
        });
        error = 'the hub closed the event stream';
      } catch (err) {
        if (signal.aborted) return;
        // A 401 already sent the app to the login page (see readSse); retrying would only spin.
        if (err instanceof ApiError && err.status === 401) return;
        error = describeError(err);
      }
      attempt++;
      const delay = Math.round(Math.random() * Math.min(MAX_BACKOFF_MS, 1000 * 2 ** attempt));
      this.update({ phase: 'retrying', error, retryAt: Date.now() + delay }, true);
      await sleep(delay, signal);
      if (!signal.aborted) this.update({ phase: 'connecting' }, true);
    }
  }

  private update(patch: Partial<DeviceStoreSnapshot>, now: boolean): void {
    this.snap = { ...this.snap, ...patch };
    if (now) this.emit();
    else this.pending ??= setTimeout(() => this.emit(), EMIT_EVERY_MS);
  }

  private emit(): void {
    clearTimeout(this.pending);
    this.pending = undefined;
    const devices = [...this.byId.values()].sort((a, b) => a.name.localeCompare(b.name));
    this.snap = { ...this.snap, devices, version: this.snap.version + 1 };
    for (const l of this.listeners) l();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(t), resolve()), { once: true });
  });
}
