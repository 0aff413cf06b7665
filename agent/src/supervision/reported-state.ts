import {
  EVENT_KINDS,
  MAX_PAYLOAD_BYTES,
  StateReportedMessageSchema,
  envelope,
  type EventMessage,
  type StateReportedMessage,
} from '@pifleet/protocol';
import type { Logger } from '../log/logger.js';
import { systemClock, type Clock } from './clock.js';

/**
 * Publishes `state/reported` (retained, QoS 1): whenever something changed, but at most once per
 * `minIntervalMs` (a crash loop or a pull's progress must not flood a metered link), at once when
 * the link comes up, and never twice the same body. On every connection, and when the hub comes
 * back online, it also sends `evt/sync`, which makes the hub send the desired state again.
 */

export type ReportedBody = Omit<StateReportedMessage, 'v' | 'type' | 'id' | 'ts'>;

export interface ReportedSink {
  readonly connected: boolean;
  publish(leaf: string, payload: string, qos: 0 | 1, retain?: boolean): Promise<boolean>;
}

export interface ReportedStateOptions {
  sink: ReportedSink;
  snapshot(): ReportedBody;
  /** The per-device event seq for the sync event (EventOutbox.reserveSeq). */
  nextSeq(): number;
  log: Logger;
  minIntervalMs?: number;
  /** After a publish that was not acknowledged while connected, try again this much later. */
  retryMs?: number;
  clock?: Clock;
}

export class ReportedState {
  private readonly clock: Clock;
  private readonly minIntervalMs: number;
  private timer: unknown;
  private lastBody = '';
  private lastAt = -Infinity;
  private publishing: Promise<void> | undefined;
  private again = false;
  private stopped = false;
  private hubWasOnline = true;
  private published = 0;

  constructor(private readonly o: ReportedStateOptions) {
    this.clock = o.clock ?? systemClock;
    this.minIntervalMs = o.minIntervalMs ?? 250;
  }

  /** Reported states published so far (for tests). */
  get count(): number {
    return this.published;
  }

  /** Something in the snapshot may have changed: publish it soon (coalesced). */
  update(): void {
    if (this.stopped || this.timer !== undefined) return;
    const wait = Math.max(0, this.lastAt + this.minIntervalMs - this.clock.now());
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      void this.publish(false);
    }, wait);
  }

  /** A new connection: the state at once (even unchanged: the broker may have lost it) and a sync. */
  linkUp(): void {
    if (this.stopped) return;
    void this.publish(true);
    void this.sync();
  }

  /** The hub's retained status says online: if it was offline, ask for the desired state again. */
  hubStatus(online: boolean): void {
    const back = online && !this.hubWasOnline;
    this.hubWasOnline = online;
    if (back && this.o.sink.connected) void this.sync();
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Resolves when no publish is in flight (tests, shutdown). */
  async idle(): Promise<void> {
    while (this.publishing) await this.publishing;
  }

  private publish(force: boolean): Promise<void> {
    if (this.publishing) {
      this.again = true;
      if (force) this.lastBody = '';
      return this.publishing;
    }
    this.publishing = this.send(force).finally(() => {
      this.publishing = undefined;
      if (this.again) {
        this.again = false;
        this.update();
      }
    });
    return this.publishing;
  }

  private async send(force: boolean): Promise<void> {
    if (this.stopped || !this.o.sink.connected) return; // linkUp publishes once connected
    const body = this.o.snapshot();
    const text = JSON.stringify(body);
    if (!force && text === this.lastBody) return;
    const msg = { ...envelope('state-reported'), ...body };
    const checked = StateReportedMessageSchema.safeParse(msg);
    if (!checked.success) {
      this.o.log.error('reported state does not validate; not sent', { issue: checked.error.issues[0]?.message, path: checked.error.issues[0]?.path.join('.') });
      return;
    }
    let payload = JSON.stringify(msg);
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) payload = JSON.stringify(withoutMessages(msg));
    if (Buffer.byteLength(payload) > MAX_PAYLOAD_BYTES) {
      this.o.log.error('reported state is larger than a message may be; not sent', { bytes: Buffer.byteLength(payload) });
      return;
    }
    this.lastAt = this.clock.now();
    const ok = await this.o.sink.publish('state/reported', payload, 1, true);
    if (ok) {
      this.lastBody = text;
      this.published += 1;
    } else if (this.o.sink.connected && !this.stopped) {
      const t = this.clock.setTimeout(() => {
        if (this.timer === t) this.timer = undefined;
        void this.publish(false);
      }, this.o.retryMs ?? 5000);
      if (this.timer === undefined) this.timer = t;
    }
  }

  private async sync(): Promise<void> {
    const msg: EventMessage = { ...envelope('evt'), kind: EVENT_KINDS.sync, seq: this.o.nextSeq(), at: this.clock.now(), data: {} };
    const ok = await this.o.sink.publish(`evt/${EVENT_KINDS.sync}`, JSON.stringify(msg), 1);
    if (!ok) this.o.log.debug('sync request not acknowledged (the hub also sends the desired state on connect)');
  }
}

/** The state without per-service messages, for the rare body too large for one MQTT message. */
function withoutMessages(msg: StateReportedMessage): StateReportedMessage {
  const apps: StateReportedMessage['apps'] = {};
  for (const [app, services] of Object.entries(msg.apps)) {
    apps[app] = Object.fromEntries(Object.entries(services).map(([s, st]) => {
      const { message: _m, ...rest } = st;
      return [s, rest];
    }));
  }
  return { ...msg, apps };
}
