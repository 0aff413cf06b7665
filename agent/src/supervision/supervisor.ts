import {
  ServiceControlSchema,
  type AppSpec,
  type ServiceControl,
  type ServiceStatus,
  type StateDesiredMessage,
  type SupervisionEventData,
} from '@pifleet/protocol';
import type { ManagedContainer, PullProgress } from '../engine/engine.js';
import { systemClock, type Clock } from './clock.js';
import { configHash, rulesKey } from './config-hash.js';
import type { RunIntent, ServiceView } from './infer-steps.js';
import {
  DEFAULT_POLICY,
  applyDesire,
  containerRemoved,
  createRecord,
  created,
  dueAt,
  intentOf,
  isRunState,
  nextDeadline,
  observe,
  paused,
  persistedOf,
  started,
  stopDone,
  stopIssued,
  tick,
  type PersistedCounters,
  type Result,
  type ServiceDesire,
  type ServiceRecord,
  type SupervisionPolicy,
} from './service-machine.js';
import type { StopReason } from './steps.js';

/**
 * Owns one record per supervised service and drives the pure machine (service-machine.ts) with
 * the clock: one timer for the earliest deadline of any service. It never touches the engine: it
 * tells the reconciler what it wants (view → RunIntent) and hears back what was done (the hooks
 * the applier calls) and what the engine shows (observe*). Every transition goes to `onEvent`.
 */

export const serviceKey = (app: string, service: string): string => `${app}/${service}`;

export interface SupervisorOptions {
  clock?: Clock;
  policy?: Partial<SupervisionPolicy>;
  /** Counters an earlier agent left, by serviceKey. */
  persisted?: ReadonlyMap<string, PersistedCounters>;
  /** A transition; `logTailOf` names the container whose last log lines belong to it. */
  onEvent(e: SupervisionEventData, at: number, logTailOf?: string): void;
  /** Some service's intent changed: the reconciler has work. */
  onIntentChange(): void;
  /** Anything a reported status shows changed. */
  onChange(): void;
  /** The counters to keep across agent restarts changed (all services, by serviceKey). */
  onPersist(counters: Map<string, PersistedCounters>): void;
}

const DEFAULT_CONTROL: ServiceControl = ServiceControlSchema.parse({});
const MAX_MESSAGE = 1024;
const trim = (s: string): string => (s.length > MAX_MESSAGE ? `${s.slice(0, MAX_MESSAGE - 1)}…` : s);

export class Supervisor {
  private readonly clock: Clock;
  private readonly policy: SupervisionPolicy;
  private readonly records = new Map<string, ServiceRecord>();
  /** Keys of the services the desired state names. */
  private desired = new Set<string>();
  private frozenApps: ReadonlySet<string> = new Set();
  private readonly waiting = new Map<string, string>();
  private readonly pulls = new Map<string, PullProgress>();
  /** Services the applier is taking a step on right now (see `busy`). */
  private readonly inStep = new Set<string>();
  private timer: unknown;
  private timerAt: number | undefined;
  private intents = new Map<string, RunIntent>();
  private lastPersisted = '';
  private stopped = false;

  constructor(private readonly o: SupervisorOptions) {
    this.clock = o.clock ?? systemClock;
    this.policy = { ...DEFAULT_POLICY, ...o.policy };
  }

  /** A newly accepted desired state. Apps in `frozen` (an invalid spec) keep their records as they are. */
  setDesired(apps: Readonly<Record<string, AppSpec>>, controls: StateDesiredMessage['controls'], frozen: ReadonlySet<string> = new Set()): void {
    const now = this.clock.now();
    const keys = new Set<string>();
    for (const [app, spec] of Object.entries(apps)) {
      if (frozen.has(app)) continue;
      for (const [service, s] of Object.entries(spec.services)) {
        const key = serviceKey(app, service);
        keys.add(key);
        const desire: ServiceDesire = {
          hash: configHash(s),
          rules: rulesKey(s),
          restart: s.restart,
          supervision: s.supervision,
          control: controls[app]?.[service] ?? DEFAULT_CONTROL,
        };
        const r = this.records.get(key) ?? createRecord(app, service, desire, now, this.o.persisted?.get(key));
        this.apply(key, applyDesire(r, desire, now), now);
      }
    }
    for (const key of this.records.keys()) if (frozen.has(this.records.get(key)!.app)) keys.add(key);
    this.desired = keys;
    this.frozenApps = frozen;
    this.commit();
  }

  /** A full listing of the engine's pifleet containers. */
  observeAll(containers: readonly ManagedContainer[]): void {
    const now = this.clock.now();
    const byKey = new Map<string, ManagedContainer[]>();
    for (const c of containers) {
      const k = serviceKey(c.app, c.service);
      byKey.set(k, [...(byKey.get(k) ?? []), c]);
    }
    for (const [key, r] of [...this.records]) {
      if (this.frozenApps.has(r.app)) continue;
      const list = byKey.get(key) ?? [];
      if (!this.desired.has(key) && list.length === 0) {
        this.forget(key, r, now);
        continue;
      }
      const c =
        list.find((x) => x.id === r.containerId) ??
        list.find((x) => x.configHash === r.hash) ??
        list.find((x) => x.status === 'running') ??
        list[0];
      this.apply(key, observe(r, c, now, this.policy), now);
    }
    this.commit();
  }

  /**
   * The applier starts (true) or ended (false) a step on the service. Meanwhile reports from
   * engine events about it are ignored: one could land between the engine call and the hook that
   * says what the call did (a start taken for one done outside pifleet). The applier lists the
   * engine again after its steps, so nothing ignored here is lost.
   */
  busy(app: string, service: string, on: boolean): void {
    if (on) this.inStep.add(serviceKey(app, service));
    else this.inStep.delete(serviceKey(app, service));
  }

  /** One container, freshly inspected after an engine event; ignored if the record follows another. */
  observeContainer(c: ManagedContainer): void {
    const key = serviceKey(c.app, c.service);
    const r = this.records.get(key);
    if (!r || (r.containerId !== undefined && r.containerId !== c.id) || !r.adopted || this.inStep.has(key)) return;
    const now = this.clock.now();
    this.apply(key, observe(r, c, now, this.policy), now);
    this.commit();
  }

  /** A container the engine no longer has (destroyed outside a step the applier took). */
  containerGone(containerId: string): void {
    const now = this.clock.now();
    for (const [key, r] of this.records) {
      if (r.containerId === containerId && !this.inStep.has(key)) this.apply(key, observe(r, undefined, now, this.policy), now);
    }
    this.commit();
  }

  // Hooks the applier calls around its steps.

  created(app: string, service: string, containerId: string, release: number, image: string): void {
    this.hook(app, service, (r, now) => created(r, containerId, release, image, now));
  }

  /** `startedAt`: the engine's start time of the run, when known. */
  started(app: string, service: string, containerId: string, startedAt?: number): void {
    this.waiting.delete(serviceKey(app, service));
    this.hook(app, service, (r, now) => started(r, containerId, now, startedAt));
  }

  stopIssued(app: string, service: string, reason: StopReason): void {
    this.hook(app, service, (r, now) => stopIssued(r, reason, now));
  }

  stopDone(app: string, service: string): void {
    this.hook(app, service, (r, now) => stopDone(r, now, this.policy));
  }

  removed(app: string, service: string, containerId: string, reason: 'replace' | 'remove' | 'dead'): void {
    const key = serviceKey(app, service);
    const r = this.records.get(key);
    if (!r) return;
    const now = this.clock.now();
    if (reason === 'remove' && !this.desired.has(key)) this.forget(key, r, now);
    else this.apply(key, containerRemoved(r, containerId, now, this.policy), now);
    this.commit();
  }

  /** Why a service is not started yet (a dependency), or undefined once it is not waiting. */
  setWaiting(app: string, service: string, message: string | undefined): void {
    const key = serviceKey(app, service);
    if ((message === undefined ? undefined : trim(message)) === this.waiting.get(key)) return;
    if (message === undefined) this.waiting.delete(key);
    else this.waiting.set(key, trim(message));
    this.o.onChange();
  }

  setPull(app: string, service: string, p: PullProgress | undefined): void {
    const key = serviceKey(app, service);
    if (p === undefined) this.pulls.delete(key);
    else this.pulls.set(key, p);
    this.o.onChange();
  }

  /** A message on a service (the last apply error about it), shown until it starts. */
  setMessage(app: string, service: string, message: string): void {
    this.hook(app, service, (r) => ({ record: { ...r, message: trim(message) }, transitions: [] }));
  }

  view(app: string, service: string): ServiceView | undefined {
    const r = this.records.get(serviceKey(app, service));
    return r ? { intent: intentOf(r, this.clock.now()), state: r.state } : undefined;
  }

  record(app: string, service: string): Readonly<ServiceRecord> | undefined {
    return this.records.get(serviceKey(app, service));
  }

  /** Every supervised service as the reported state shows it. */
  statuses(): Record<string, Record<string, ServiceStatus>> {
    const now = this.clock.now();
    const out: Record<string, Record<string, ServiceStatus>> = {};
    for (const [key, r] of this.records) (out[r.app] ??= {})[r.service] = this.statusOf(key, r, now);
    return out;
  }

  stop(): void {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private statusOf(key: string, r: ServiceRecord, now: number): ServiceStatus {
    const s: ServiceStatus = { state: r.state, since: r.since, restarts: r.restarts, crashLoop: r.crashLoop };
    if (r.release !== undefined) s.release = r.release;
    if (r.image !== undefined) s.image = r.image;
    if (r.containerId !== undefined) s.containerId = r.containerId;
    if (isRunState(r.state) && r.startedAt !== undefined) s.startedAt = r.startedAt;
    if (r.exitCode !== undefined) s.exitCode = r.exitCode;
    if (r.oomKilled) s.oomKilled = true;
    if (isRunState(r.state) && r.health !== undefined) s.health = r.health;
    if (r.state === 'BACKOFF') s.nextStartAt = dueAt(r);
    if (paused(r, now)) s.pausedUntil = r.control.pausedUntil!;
    const pull = this.pulls.get(key);
    if (pull && r.state === 'PENDING') s.pull = { ...pull };
    const message = (r.state === 'PENDING' ? this.waiting.get(key) : undefined) ?? r.message;
    if (message !== undefined) s.message = message;
    return s;
  }

  private hook(app: string, service: string, fn: (r: ServiceRecord, now: number) => Result): void {
    const key = serviceKey(app, service);
    const r = this.records.get(key);
    if (!r) return;
    const now = this.clock.now();
    this.apply(key, fn(r, now), now);
    this.commit();
  }

  private forget(key: string, r: ServiceRecord, now: number): void {
    this.records.delete(key);
    this.waiting.delete(key);
    this.pulls.delete(key);
    if (r.state !== 'STOPPED') this.emit(r, { from: r.state, to: 'STOPPED', reason: 'removed' }, now);
  }

  private apply(key: string, res: Result, now: number): void {
    this.records.set(key, res.record);
    for (const t of res.transitions) this.emit(res.record, t, now);
  }

  private emit(r: ServiceRecord, t: Result['transitions'][number], at: number): void {
    const e: SupervisionEventData = { app: r.app, service: r.service, from: t.from, to: t.to, reason: t.reason, restarts: r.restarts, crashLoop: r.crashLoop };
    if (t.exitCode !== undefined) e.exitCode = t.exitCode;
    if (t.oomKilled) e.oomKilled = true;
    if (t.runMs !== undefined) e.runMs = Math.max(0, Math.round(t.runMs));
    if (t.delayMs !== undefined) e.delayMs = t.delayMs;
    if (t.message !== undefined) e.message = trim(t.message);
    this.o.onEvent(e, at, t.logTailOf);
  }

  /** After any change: time-driven transitions, the next timer, intent changes, persistence. */
  private commit(): void {
    if (this.stopped) return;
    const now = this.clock.now();
    for (const [key, r] of this.records) this.apply(key, tick(r, now, this.policy), now);
    this.schedule(now);
    const intents = new Map<string, RunIntent>();
    let changed = false;
    for (const [key, r] of this.records) {
      const i = intentOf(r, now);
      intents.set(key, i);
      if (this.intents.get(key) !== i) changed = true;
    }
    if (intents.size !== this.intents.size) changed = true;
    this.intents = intents;
    const counters = new Map<string, PersistedCounters>();
    for (const [key, r] of this.records) if (this.desired.has(key)) counters.set(key, persistedOf(r));
    const text = JSON.stringify([...counters]);
    if (text !== this.lastPersisted) {
      this.lastPersisted = text;
      this.o.onPersist(counters);
    }
    this.o.onChange();
    if (changed) this.o.onIntentChange();
  }

  private schedule(now: number): void {
    let next: number | undefined;
    for (const r of this.records.values()) {
      const d = nextDeadline(r, this.policy);
      if (d !== undefined && d > now && (next === undefined || d < next)) next = d;
    }
    if (next === this.timerAt) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    this.timerAt = next;
    if (next === undefined) return;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = undefined;
      this.commit();
    }, next - now);
  }
}
