import { join } from 'node:path';
import {
  EVENT_KINDS,
  SupervisionEventDataSchema,
  type ApplyError,
  type AppSpec,
  type StateDesiredMessage,
  type SupervisionEventData,
} from '@pifleet/protocol';
import { EngineError, type Engine, type EngineEvent } from '../engine/engine.js';
import type { Logger } from '../log/logger.js';
import type { InboundHandler } from '../mqtt/inbound.js';
import { Backoff } from '../util/backoff.js';
import { toApplyError, StepError } from './apply-error.js';
import { Applier, type DesiredView } from './applier.js';
import type { BundleSource } from './bundle-source.js';
import { systemClock, type Clock } from './clock.js';
import { EventOutbox, type EventSink } from './event-outbox.js';
import { ExclusiveRunner, type ApplyOutcome } from './exclusive-runner.js';
import { ReportedState, type ReportedBody } from './reported-state.js';
import type { SupervisionPolicy } from './service-machine.js';
import { StateStore } from './state-store.js';
import { Supervisor } from './supervisor.js';
import { validateApp } from './validate-app.js';

/**
 * Supervision, composed: the desired state arrives on `state/desired` (newer versions only), is
 * stored, handed to the supervisor and applied by the exclusive runner; engine events reach the
 * supervisor (after an inspect) and poke the runner; every transition goes to the event outbox;
 * the reported state follows all of it. Without an engine (none configured, or down) the agent
 * keeps running, accepts and stores desired states, and reports the engine down; once the engine
 * answers it reconciles.
 */

/** What supervision needs of the MQTT link (MqttLink satisfies it). */
export interface SupervisionUplink extends EventSink {
  subscribe(leaf: 'state/desired', handler: InboundHandler<'state/desired'>): () => void;
}

export interface SupervisionServiceOptions {
  /** Undefined: no engine configured; supervision reports it down and applies nothing. */
  engine: Engine | undefined;
  link: SupervisionUplink;
  /** The agent's data dir; supervision keeps its files in `<dataDir>/supervision`. */
  dataDir: string;
  log: Logger;
  bundles?: BundleSource;
  clock?: Clock;
  policy?: Partial<SupervisionPolicy>;
  /** Retry delays of a failed apply (default 2 s doubling to 5 min, full jitter). */
  retryBackoff?: Backoff;
  waitPollMs?: number;
  resyncMs?: number;
  reportedMinIntervalMs?: number;
  outbox?: { maxEvents?: number; maxBytes?: number; retryMs?: number };
  keepVolumesOfRemovedApps?: boolean;
  /** Which apps this agent manages (default all); see ApplierOptions.ownsApp. */
  ownsApp?: (app: string) => boolean;
}

const LOG_TAIL_LINES = 20;
const LOG_LINE_MAX = 512;
const LOG_TAIL_TIMEOUT_MS = 3000;
/** Engine events queued for inspection at most; past that the next apply's listing catches up. */
const MAX_QUEUED_ENGINE_EVENTS = 64;

export class SupervisionService {
  readonly store: StateStore;
  readonly outbox: EventOutbox;
  private supervisorRef: Supervisor | undefined;
  private runner: ExclusiveRunner | undefined;
  private reported: ReportedState | undefined;
  private accepted: StateDesiredMessage | undefined;
  private view: DesiredView | undefined;
  private invalid: ApplyError | undefined;
  private applyError: ApplyError | undefined;
  private appliedVersion: number | undefined;
  private engineUp = false;
  private readonly clock: Clock;
  private events: Promise<void> = Promise.resolve();
  private engineChain: Promise<void> = Promise.resolve();
  private queuedEngineEvents = 0;
  private unsubscribe: (() => void) | undefined;
  private readonly stopper = new AbortController();
  private started = false;

  constructor(private readonly o: SupervisionServiceOptions) {
    this.clock = o.clock ?? systemClock;
    const dir = join(o.dataDir, 'supervision');
    this.store = new StateStore(dir, o.log);
    this.outbox = new EventOutbox({ dir, sink: o.link, log: o.log, ...o.outbox });
  }

  get supervisor(): Supervisor {
    if (!this.supervisorRef) throw new Error('supervision not started');
    return this.supervisorRef;
  }

  /** The version of the accepted desired state (0 before any). */
  get desiredVersion(): number {
    return this.accepted?.version ?? 0;
  }

  get applied(): number | undefined {
    return this.appliedVersion;
  }

  get engineState(): 'up' | 'down' {
    return this.engineUp ? 'up' : 'down';
  }

  get error(): ApplyError | undefined {
    return this.invalid ?? this.applyError;
  }

  /** Loads what was stored, subscribes to the desired state and starts reconciling. */
  async start(signal: AbortSignal): Promise<void> {
    if (this.started) return;
    this.started = true;
    signal.addEventListener('abort', () => this.stopper.abort(), { once: true });
    const { log } = this.o;
    await this.store.init();
    const counters = await this.store.loadCounters();
    await this.outbox.open();
    const supervisor = new Supervisor({
      clock: this.clock,
      ...(this.o.policy ? { policy: this.o.policy } : {}),
      persisted: counters,
      onEvent: (e, at, logTailOf) => this.onTransition(e, at, logTailOf),
      onIntentChange: () => this.runner?.trigger(),
      onChange: () => this.reported?.update(),
      onPersist: (c) => this.store.saveCounters(c),
    });
    this.supervisorRef = supervisor;
    this.reported = new ReportedState({
      sink: this.o.link,
      snapshot: () => this.snapshot(),
      nextSeq: () => this.outbox.reserveSeq(),
      log,
      clock: this.clock,
      ...(this.o.reportedMinIntervalMs !== undefined ? { minIntervalMs: this.o.reportedMinIntervalMs } : {}),
    });

    const stored = await this.store.loadDesired();
    if (stored) {
      log.info('desired state loaded from disk', { version: stored.version });
      this.accept(stored);
    }
    this.unsubscribe = this.o.link.subscribe('state/desired', this.onDesired);

    const engine = this.o.engine;
    if (engine) {
      const applier = new Applier({
        engine,
        supervisor,
        desired: () => this.view,
        ...(this.o.bundles ? { bundles: this.o.bundles } : {}),
        log,
        ...(this.o.keepVolumesOfRemovedApps ? { keepVolumesOfRemovedApps: true } : {}),
        ...(this.o.ownsApp ? { ownsApp: this.o.ownsApp } : {}),
      });
      this.runner = new ExclusiveRunner({
        apply: (s) => applier.apply(s),
        onSuccess: (outcome) => this.applySucceeded(outcome),
        onFailure: (err, retryInMs) => this.applyFailed(err, retryInMs),
        backoff: this.o.retryBackoff ?? new Backoff({ baseMs: 2000, capMs: 300_000 }),
        waitPollMs: this.o.waitPollMs ?? 2000,
        resyncMs: this.o.resyncMs ?? 60_000,
        log,
        clock: this.clock,
      });
      engine.watch(
        {
          onEvent: (e) => this.onEngineEvent(engine, e),
          onDown: (err) => {
            if (this.engineUp) log.warn('container engine down', { err: err.message });
            this.engineUp = false;
            this.reported?.update();
          },
          onUp: () => {
            if (!this.engineUp) log.info('container engine up');
            this.engineUp = true;
            this.reported?.update();
            // Events may have been missed while down: a fresh apply lists everything again.
            this.runner?.trigger({ cancel: true });
          },
        },
        this.stopper.signal,
      );
      this.runner.start(this.stopper.signal);
    } else {
      log.warn('no container engine configured; supervision reports the engine down and applies nothing');
    }
    this.outbox.start(this.stopper.signal);
    this.reported.update();
  }

  /** The MQTT link (re)connected: publish the reported state at once, ask for a sync, send events. */
  linkUp(): void {
    this.reported?.linkUp();
    void this.outbox.flush();
  }

  /** The hub's retained status arrived. */
  hubStatus(online: boolean): void {
    this.reported?.hubStatus(online);
    if (online) void this.outbox.flush();
  }

  /** Stops every loop; containers keep running. Waits for pending events and files to be written. */
  async stop(): Promise<void> {
    this.stopper.abort();
    this.unsubscribe?.();
    await this.runner?.stop();
    this.supervisorRef?.stop();
    this.reported?.stop();
    await this.engineChain;
    await this.events;
    await this.reported?.idle();
    await this.outbox.close();
    await this.store.flush();
  }

  private onDesired: InboundHandler<'state/desired'> = async (msg) => {
    if (this.accepted && msg.version <= this.accepted.version) {
      this.o.log.debug('ignored desired state that is not newer', { version: msg.version, accepted: this.accepted.version });
      return;
    }
    this.o.log.info('desired state accepted', { version: msg.version, apps: Object.keys(msg.apps).length });
    this.accept(msg);
    await this.store.saveDesired(msg).catch((e: unknown) => this.o.log.error('cannot store the desired state', { err: e }));
  };

  private accept(msg: StateDesiredMessage): void {
    this.accepted = msg;
    const frozen = new Set<string>();
    const apps: Record<string, AppSpec> = {};
    this.invalid = undefined;
    for (const [name, app] of Object.entries(msg.apps)) {
      const problem = validateApp(app);
      if (problem) {
        // Left exactly as it is: never a retry loop, and never a removal by mistake.
        frozen.add(name);
        this.o.log.error('desired app refused', { app: name, service: problem.service, problem: problem.message });
        this.invalid ??= {
          code: 'invalid_spec',
          message: problem.message,
          app: name,
          ...(problem.service !== undefined ? { service: problem.service } : {}),
          at: this.clock.now(),
        };
      }
      apps[name] = app;
    }
    this.view = { apps, frozen };
    this.supervisor.setDesired(apps, msg.controls, frozen);
    this.runner?.trigger({ cancel: true });
    this.reported?.update();
  }

  private applySucceeded(outcome: ApplyOutcome): void {
    const hadError = this.applyError !== undefined;
    this.applyError = undefined;
    if (outcome === 'converged' && this.accepted) this.appliedVersion = this.accepted.version;
    if (hadError) this.o.log.info('apply succeeded again');
    this.reported?.update();
  }

  private applyFailed(err: unknown, retryInMs: number): void {
    const e = toApplyError(err, this.clock.now());
    const cause = err instanceof StepError ? err.cause : err;
    if (cause instanceof EngineError && cause.code === 'engine_down') this.engineUp = false;
    const same = this.applyError?.code === e.code && this.applyError.message === e.message;
    this.applyError = same ? this.applyError : e;
    // A failure that repeats is logged once; its retries at debug.
    if (same) this.o.log.debug('apply failed again', { code: e.code, retryInMs });
    else this.o.log.warn('apply failed', { code: e.code, message: e.message, app: e.app, service: e.service, retryInMs });
    this.reported?.update();
  }

  private snapshot(): ReportedBody {
    const body: ReportedBody = {
      desiredVersion: this.desiredVersion,
      apps: this.supervisorRef?.statuses() ?? {},
      engine: this.engineUp ? 'up' : 'down',
    };
    if (this.appliedVersion !== undefined) body.appliedVersion = this.appliedVersion;
    const error = this.error ?? (this.o.engine ? undefined : { code: 'engine_down' as const, message: 'no container engine configured', at: this.clock.now() });
    if (error) body.error = error;
    if (this.outbox.dropped > 0) body.eventsDropped = this.outbox.dropped;
    return body;
  }

  private onEngineEvent(engine: Engine, e: EngineEvent): void {
    if (this.o.ownsApp && !this.o.ownsApp(e.app)) return;
    if (this.queuedEngineEvents >= MAX_QUEUED_ENGINE_EVENTS) {
      this.runner?.trigger();
      return;
    }
    this.queuedEngineEvents += 1;
    // One at a time and in order, so a later inspect never lands before an earlier one.
    this.engineChain = this.engineChain.then(async () => {
      try {
        if (e.kind === 'destroy') this.supervisorRef?.containerGone(e.containerId);
        else {
          const c = await engine.inspectContainer(e.containerId);
          if (c) this.supervisorRef?.observeContainer(c);
          else this.supervisorRef?.containerGone(e.containerId);
        }
      } catch (err) {
        this.o.log.debug('cannot inspect after an engine event', { kind: e.kind, err });
      } finally {
        this.queuedEngineEvents -= 1;
        this.runner?.trigger();
      }
    });
  }

  private onTransition(e: SupervisionEventData, at: number, logTailOf: string | undefined): void {
    const { log } = this.o;
    const level = e.to === 'FATAL' || e.to === 'BACKOFF' ? 'warn' : 'info';
    log[level]('service', { app: e.app, service: e.service, from: e.from, to: e.to, reason: e.reason, exitCode: e.exitCode, delayMs: e.delayMs, crashLoop: e.crashLoop });
    const engine = this.o.engine;
    // In order: the log tail is fetched before the event is queued, one event after another.
    this.events = this.events.then(async () => {
      const data: SupervisionEventData = { ...e };
      if (logTailOf && engine) {
        const lines = await withTimeout(engine.logTail(logTailOf, LOG_TAIL_LINES), LOG_TAIL_TIMEOUT_MS).catch(() => undefined);
        if (lines && lines.length > 0) data.logTail = lines.slice(-LOG_TAIL_LINES).map((l) => l.slice(0, LOG_LINE_MAX));
      }
      const checked = SupervisionEventDataSchema.safeParse(data);
      if (!checked.success) {
        log.error('supervision event does not validate; dropped', { issue: checked.error.issues[0]?.message });
        return;
      }
      this.outbox.add(EVENT_KINDS.supervision, checked.data, at);
    });
  }
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const t = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error('timed out')), ms)));
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}
