import type { RestartPolicy, ServiceControl, ServiceState, SupervisionSpec } from '@pifleet/protocol';
import type { ManagedContainer } from '../engine/engine.js';
import { isRunning, type RunIntent } from './infer-steps.js';
import type { StopReason } from './steps.js';

/**
 * The per-service supervision state machine, as pure functions over a plain record: every input
 * (the desired spec and controls, what the engine shows, the steps the applier takes, the passing
 * of time) returns the next record and the transitions to report. supervisor.ts owns the records,
 * the timers and the IO.
 *
 * Rules:
 * - supervisord's start rule: a run shorter than `startSecs` is a failed start; `startRetries`
 *   failed starts in a row (at least one) are FATAL. A failed start is retried after n seconds
 *   (n = failed starts so far), as supervisord does.
 * - Kubernetes' crash backoff once a run passed `startSecs`: the n-th crash in a row waits
 *   crashDelaysMs[n-1] (0, 10, 20, 40, 80, 160, 300 s, the last repeating) ±20 %; a run of
 *   10 minutes forgets the crashes. Three crashes in a row (failed starts included) = crashLoop.
 * - Restart policies as compose has them: `no` never restarts, `on-failure` restarts unless the
 *   exit code is one of successExitCodes, `always` and `unless-stopped` always restart (a success
 *   exit is not a crash: it waits minRestartDelayMs and counts nothing). fatalExitCodes are FATAL
 *   at once. An OOM kill is a crash whatever the exit code.
 * - Unhealthy for longer than unhealthyGraceSecs: restarted (restartUnhealthy), counted as a crash.
 * - Operator controls: `stopped` stops and never restarts; `pausedUntil` holds automatic restarts
 *   (BACKOFF waits, unhealthy is not restarted) until then; growth of `restartSeq` restarts once
 *   (a FATAL service gets one more start, its failure count kept); growth of `resetSeq` leaves
 *   FATAL and forgets every count; a start after an operator stop forgets them too.
 * - A new spec (config hash) or new rules leave FATAL with the counts forgotten.
 * - At agent start an exited container the agent did not see die is judged by its restart policy
 *   but not counted as a crash: the agent cannot tell a crash from a reboot.
 */

export interface SupervisionPolicy {
  /** Delay before restarting after the n-th crash in a row (index n-1); the last one repeats. */
  crashDelaysMs: readonly number[];
  /** Relative jitter on crash delays (0.2 = ±20 %). */
  jitter: number;
  /** A run this long forgets the crashes before it. */
  stableRunMs: number;
  /** Crashes in a row that make a crash loop. */
  crashLoopAfter: number;
  /** A failed start is retried after failedStarts × this. */
  failedStartStepMs: number;
  /** Wait before restarting after a success exit under `always` / `unless-stopped`. */
  minRestartDelayMs: number;
  /** In [0, 1); the jitter's source. */
  random: () => number;
}

export const DEFAULT_POLICY: SupervisionPolicy = {
  crashDelaysMs: [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000],
  jitter: 0.2,
  stableRunMs: 600_000,
  crashLoopAfter: 3,
  failedStartStepMs: 1000,
  minRestartDelayMs: 1000,
  random: Math.random,
};

/**
 * When the start time of a run is the agent's clock (the engine's was not available), how much
 * earlier the engine's may be and still be that run.
 */
const CLOCK_SLACK_MS = 5000;

/** The desired side of one service, as the machine needs it. */
export interface ServiceDesire {
  hash: string;
  rules: string;
  restart: RestartPolicy;
  supervision: SupervisionSpec;
  control: ServiceControl;
}

/** What survives an agent restart (state-store.ts keeps it). */
export interface PersistedCounters {
  failedStarts: number;
  crashes: number;
  restarts: number;
  crashLoop: boolean;
  actedRestartSeq: number;
  actedResetSeq: number;
  /** Set while FATAL: the spec and rules it failed with, so it stays FATAL only for those. */
  fatal?: { hash: string; rules: string; since: number; message?: string };
}

export interface ServiceRecord extends ServiceDesire, PersistedCounters {
  app: string;
  service: string;
  state: ServiceState;
  since: number;
  containerId?: string;
  /** Whether the current container has run before (starting it again is a restart). */
  ran: boolean;
  /** Start of the current (or last) run, in the engine's time when `startedAtExact`. */
  startedAt?: number;
  startedAtExact?: boolean;
  /**
   * The last run seen to end, as `containerId@startedAt`: a late report that shows it still
   * running (an inspect answered before it died) is stale and ignored.
   */
  endedRun?: string;
  health?: 'starting' | 'healthy' | 'unhealthy';
  unhealthySince?: number;
  exitCode?: number;
  oomKilled?: boolean;
  /** BACKOFF ends (before any operator pause). */
  nextStartAt?: number;
  /** A restart the supervisor wants of the running container. */
  restartWanted?: 'operator_restart' | 'unhealthy';
  /** The stop the applier issued, so the exit it causes is not a crash. */
  stopping?: StopReason;
  /** False until the engine's view of the service was first looked at (since load or creation). */
  adopted: boolean;
  release?: number;
  image?: string;
  message?: string;
}

/** One state change; supervisor.ts adds restarts and crashLoop and fetches the log tail. */
export interface Transition {
  from: ServiceState;
  to: ServiceState;
  reason: string;
  exitCode?: number;
  oomKilled?: boolean;
  runMs?: number;
  delayMs?: number;
  message?: string;
  /** A run ended: attach the last lines of this container's log. */
  logTailOf?: string;
}

export interface Result {
  record: ServiceRecord;
  transitions: Transition[];
}

type Draft = { r: ServiceRecord; t: Transition[]; now: number };

function draft(r: ServiceRecord, now: number): Draft {
  return { r: { ...r, control: { ...r.control } }, t: [], now };
}
const done = (d: Draft): Result => ({ record: d.r, transitions: d.t });

function move(d: Draft, to: ServiceState, reason: string, extra: Omit<Transition, 'from' | 'to' | 'reason'> = {}): void {
  const from = d.r.state;
  if (from === to) return;
  d.r.state = to;
  d.r.since = d.now;
  if (to !== 'BACKOFF') d.r.nextStartAt = undefined;
  if (to === 'FATAL') d.r.fatal = { hash: d.r.hash, rules: d.r.rules, since: d.now, ...(d.r.message ? { message: d.r.message } : {}) };
  else d.r.fatal = undefined;
  d.t.push({ from, to, reason, ...extra });
}

function forgetCounts(r: ServiceRecord, restarts: boolean): void {
  r.failedStarts = 0;
  r.crashes = 0;
  r.crashLoop = false;
  if (restarts) r.restarts = 0;
}

const RUN_STATES: ReadonlySet<ServiceState> = new Set(['STARTING', 'RUNNING', 'UNHEALTHY']);
/** States from which a new start may follow (the service is not running and not under operator stop). */
const IDLE_STATES: ReadonlySet<ServiceState> = new Set(['PENDING', 'BACKOFF', 'EXITED', 'FATAL']);

export function isRunState(s: ServiceState): boolean {
  return RUN_STATES.has(s);
}

/** A new record; `persisted` is what an earlier agent left (counters, FATAL). */
export function createRecord(app: string, service: string, desire: ServiceDesire, now: number, persisted?: PersistedCounters): ServiceRecord {
  const r: ServiceRecord = {
    app,
    service,
    ...desire,
    control: { ...desire.control },
    state: 'PENDING',
    since: now,
    ran: false,
    adopted: false,
    failedStarts: persisted?.failedStarts ?? 0,
    crashes: persisted?.crashes ?? 0,
    restarts: persisted?.restarts ?? 0,
    crashLoop: persisted?.crashLoop ?? false,
    // Without a history, controls already in the desired state count as acted on: a new device
    // must not "restart" what it has never run.
    actedRestartSeq: persisted?.actedRestartSeq ?? desire.control.restartSeq,
    actedResetSeq: persisted?.actedResetSeq ?? desire.control.resetSeq,
  };
  const f = persisted?.fatal;
  if (f && f.hash === desire.hash && f.rules === desire.rules) {
    r.state = 'FATAL';
    r.since = f.since;
    r.fatal = { ...f };
    if (f.message !== undefined) r.message = f.message;
  }
  if (desire.control.stopped) {
    r.state = 'STOPPED';
    r.fatal = undefined;
  }
  return r;
}

export function persistedOf(r: ServiceRecord): PersistedCounters {
  const p: PersistedCounters = {
    failedStarts: r.failedStarts,
    crashes: r.crashes,
    restarts: r.restarts,
    crashLoop: r.crashLoop,
    actedRestartSeq: r.actedRestartSeq,
    actedResetSeq: r.actedResetSeq,
  };
  if (r.fatal) p.fatal = { ...r.fatal };
  return p;
}

/** When BACKOFF may end: its delay, and no earlier than an operator pause. */
export function dueAt(r: ServiceRecord): number {
  return Math.max(r.nextStartAt ?? 0, r.control.pausedUntil ?? 0);
}

export function paused(r: ServiceRecord, now: number): boolean {
  return r.control.pausedUntil !== undefined && now < r.control.pausedUntil;
}

/** What the reconciler should do with the container now (see RunIntent). */
export function intentOf(r: ServiceRecord, now: number): RunIntent {
  if (r.control.stopped) return 'stop';
  switch (r.state) {
    case 'PENDING':
      return 'start';
    case 'BACKOFF':
      return now >= dueAt(r) ? 'start' : 'hold';
    case 'STARTING':
    case 'RUNNING':
    case 'UNHEALTHY':
      return r.restartWanted ? 'restart' : 'keep';
    case 'EXITED':
    case 'FATAL':
      return 'hold';
    case 'STOPPING':
      return r.stopping === 'operator_stop' ? 'stop' : r.stopping === 'restart' ? 'restart' : 'keep';
    case 'STOPPED':
      return 'hold';
  }
}

/** A new desired state for the service: spec, rules and operator controls. */
export function applyDesire(r0: ServiceRecord, desire: ServiceDesire, now: number): Result {
  const d = draft(r0, now);
  const r = d.r;
  const specChanged = desire.hash !== r.hash;
  const rulesChanged = desire.rules !== r.rules;
  const control = desire.control;
  Object.assign(r, { hash: desire.hash, rules: desire.rules, restart: desire.restart, supervision: desire.supervision, control: { ...control } });

  if (specChanged || (rulesChanged && r.state === 'FATAL')) {
    forgetCounts(r, specChanged);
    r.message = undefined;
    if (r.state === 'FATAL' || (specChanged && (r.state === 'EXITED' || r.state === 'BACKOFF'))) move(d, 'PENDING', 'spec_changed');
  }
  if (control.resetSeq > r.actedResetSeq) {
    r.actedResetSeq = control.resetSeq;
    forgetCounts(r, true);
    r.message = undefined;
    if (r.state === 'FATAL' || r.state === 'BACKOFF') move(d, 'PENDING', 'reset');
  }
  if (control.restartSeq > r.actedRestartSeq) {
    r.actedRestartSeq = control.restartSeq;
    if (!control.stopped) {
      if (RUN_STATES.has(r.state)) r.restartWanted = 'operator_restart';
      else if (r.state === 'BACKOFF' || r.state === 'EXITED' || r.state === 'FATAL') {
        r.message = undefined;
        move(d, 'PENDING', 'operator_restart');
      }
    }
  }
  if (control.stopped) {
    r.restartWanted = undefined;
    if (IDLE_STATES.has(r.state)) move(d, 'STOPPED', 'operator_stop');
  } else if (r.state === 'STOPPED') {
    forgetCounts(r, false);
    r.message = undefined;
    move(d, 'PENDING', 'operator_start');
  }
  return done(d);
}

function shouldRestart(policy: RestartPolicy, success: boolean): boolean {
  switch (policy) {
    case 'always':
    case 'unless-stopped':
      return true;
    case 'on-failure':
      return !success;
    case 'no':
      return false;
  }
}

function crashDelay(policy: SupervisionPolicy, crashes: number): number {
  const table = policy.crashDelaysMs;
  const base = table[Math.min(Math.max(crashes, 1), table.length) - 1] ?? 0;
  return Math.max(0, Math.round(base * (1 + policy.jitter * (2 * policy.random() - 1))));
}

interface RunEnd {
  containerId: string;
  exitCode: number | null;
  oomKilled: boolean;
  startedAt: number | null;
  finishedAt: number | null;
}

/** The run of the record's container ended on its own (not a stop the applier issued). */
function died(d: Draft, end: RunEnd, policy: SupervisionPolicy): void {
  const r = d.r;
  const runStart = end.startedAt ?? r.startedAt ?? d.now;
  r.endedRun = `${end.containerId}@${runStart}`;
  const runMs = Math.max(0, (end.finishedAt ?? d.now) - runStart);
  const exitCode = end.exitCode ?? undefined;
  const oom = end.oomKilled;
  const reason = oom ? 'oom' : 'exited';
  r.exitCode = exitCode;
  r.oomKilled = oom;
  r.health = undefined;
  r.unhealthySince = undefined;
  r.restartWanted = undefined;
  const base: Omit<Transition, 'from' | 'to' | 'reason'> = { runMs, logTailOf: end.containerId, ...(exitCode !== undefined ? { exitCode } : {}), ...(oom ? { oomKilled: true } : {}) };
  const sup = r.supervision;

  if (exitCode !== undefined && sup.fatalExitCodes.includes(exitCode)) {
    r.message = `exit code ${exitCode} is fatal`;
    move(d, 'FATAL', 'fatal_exit', { ...base, message: r.message });
    return;
  }
  const success = !oom && exitCode !== undefined && sup.successExitCodes.includes(exitCode);
  if (!shouldRestart(r.restart, success)) {
    move(d, 'EXITED', reason, base);
    return;
  }
  if (success) {
    const delayMs = policy.minRestartDelayMs;
    r.nextStartAt = d.now + delayMs;
    move(d, 'BACKOFF', reason, { ...base, delayMs });
    return;
  }
  r.crashes += 1;
  r.crashLoop = r.crashes >= policy.crashLoopAfter;
  if (runMs < sup.startSecs * 1000) {
    r.failedStarts += 1;
    if (r.failedStarts >= Math.max(1, sup.startRetries)) {
      r.message = `${r.failedStarts} failed start${r.failedStarts === 1 ? '' : 's'} in a row (each ran under ${sup.startSecs} s)`;
      move(d, 'FATAL', 'fatal_limit', { ...base, message: r.message });
      return;
    }
    const delayMs = r.failedStarts * policy.failedStartStepMs;
    r.nextStartAt = d.now + delayMs;
    move(d, 'BACKOFF', reason, { ...base, delayMs });
    return;
  }
  r.failedStarts = 0;
  const delayMs = crashDelay(policy, r.crashes);
  r.nextStartAt = d.now + delayMs;
  move(d, 'BACKOFF', reason, { ...base, delayMs });
}

function noteHealth(d: Draft, health: ManagedContainer['health']): void {
  const r = d.r;
  r.health = health ?? undefined;
  if (r.state === 'RUNNING' && health === 'unhealthy') {
    r.unhealthySince = d.now;
    move(d, 'UNHEALTHY', 'unhealthy');
  } else if (r.state === 'UNHEALTHY' && health !== 'unhealthy') {
    r.unhealthySince = undefined;
    if (r.restartWanted === 'unhealthy') r.restartWanted = undefined;
    move(d, 'RUNNING', 'healthy');
  }
}

function adoptRunning(d: Draft, c: ManagedContainer): void {
  const r = d.r;
  r.startedAt = c.startedAt ?? d.now;
  r.startedAtExact = c.startedAt !== null;
  r.ran = true;
  r.health = c.health ?? undefined;
  const up = d.now - r.startedAt >= r.supervision.startSecs * 1000;
  if (!up) move(d, 'STARTING', 'adopted');
  else if (c.health === 'unhealthy') {
    r.unhealthySince = d.now;
    move(d, 'UNHEALTHY', 'adopted');
  } else move(d, 'RUNNING', 'adopted');
}

function stopFinished(d: Draft, policy: SupervisionPolicy): void {
  const r = d.r;
  const reason = r.stopping;
  const wanted = r.restartWanted;
  r.stopping = undefined;
  r.restartWanted = undefined;
  r.health = undefined;
  r.unhealthySince = undefined;
  const runMs = r.startedAt !== undefined ? Math.max(0, d.now - r.startedAt) : undefined;
  const extra = runMs !== undefined ? { runMs } : {};
  if (r.containerId !== undefined && r.startedAt !== undefined) r.endedRun = `${r.containerId}@${r.startedAt}`;
  if (r.control.stopped) {
    move(d, 'STOPPED', 'stopped', extra);
    return;
  }
  if (reason === 'restart' && wanted === 'unhealthy') {
    r.crashes += 1;
    r.crashLoop = r.crashes >= policy.crashLoopAfter;
    const delayMs = crashDelay(policy, r.crashes);
    r.nextStartAt = d.now + delayMs;
    move(d, 'BACKOFF', 'unhealthy', { ...extra, delayMs });
    return;
  }
  move(d, reason === 'remove' ? 'STOPPED' : 'PENDING', 'stopped', extra);
}

/**
 * What the engine shows for the service now: its container (the one the record follows, or the
 * one the listing offers for it), or undefined when it has none.
 */
export function observe(r0: ServiceRecord, c: ManagedContainer | undefined, now: number, policy: SupervisionPolicy = DEFAULT_POLICY): Result {
  const d = draft(r0, now);
  const r = d.r;
  const first = !r.adopted;
  r.adopted = true;
  if (!c) {
    if (RUN_STATES.has(r.state)) move(d, 'PENDING', 'container_gone', { message: 'the container was removed outside pifleet' });
    else if (r.state === 'STOPPING') stopFinished(d, policy);
    r.containerId = undefined;
    r.ran = false;
    r.health = undefined;
    return done(d);
  }
  if (c.id !== r.containerId) {
    if (RUN_STATES.has(r.state)) move(d, 'PENDING', 'container_gone');
    r.containerId = c.id;
    r.ran = c.startedAt !== null;
  }
  const running = isRunning(c);
  if (running && c.startedAt !== null && r.endedRun === `${c.id}@${c.startedAt}`) return done(d); // stale
  r.release = c.release;
  r.image = c.image;

  if (first) {
    if (running) {
      if (r.state !== 'STOPPED') adoptRunning(d, c);
    } else if (c.startedAt !== null && r.state === 'PENDING') {
      r.exitCode = c.exitCode ?? undefined;
      r.oomKilled = c.oomKilled;
      const code = c.exitCode ?? undefined;
      const sup = r.supervision;
      const success = !c.oomKilled && code !== undefined && sup.successExitCodes.includes(code);
      const ex = { ...(code !== undefined ? { exitCode: code } : {}), ...(c.oomKilled ? { oomKilled: true } : {}) };
      if (code !== undefined && sup.fatalExitCodes.includes(code)) {
        r.message = `exit code ${code} is fatal`;
        move(d, 'FATAL', 'fatal_exit', { ...ex, message: r.message });
      } else if (!shouldRestart(r.restart, success)) move(d, 'EXITED', c.oomKilled ? 'oom' : 'exited', ex);
      // else: stays PENDING and is started again, without counting a crash.
    }
    return done(d);
  }

  if (running) {
    if (RUN_STATES.has(r.state)) {
      if (c.startedAt !== null && !olderRun(r, c.startedAt)) {
        r.startedAt = c.startedAt;
        r.startedAtExact = true;
      }
      noteHealth(d, c.health);
    } else if (IDLE_STATES.has(r.state)) adoptRunning(d, c); // started outside pifleet (docker start)
    return done(d);
  }
  if (RUN_STATES.has(r.state)) {
    // An exit of an earlier run (a late report) is not the death of this one.
    if (c.startedAt === null || !olderRun(r, c.startedAt)) died(d, { containerId: c.id, exitCode: c.exitCode, oomKilled: c.oomKilled, startedAt: c.startedAt, finishedAt: c.finishedAt }, policy);
  } else if (r.state === 'STOPPING') stopFinished(d, policy);
  return done(d);
}

/** Whether a run that started at `startedAt` (engine time) began before the record's current run. */
function olderRun(r: ServiceRecord, startedAt: number): boolean {
  if (r.startedAt === undefined) return false;
  return startedAt < r.startedAt - (r.startedAtExact ? 0 : CLOCK_SLACK_MS);
}

/** Time passed: STARTING that lasted, unhealthy too long, a long run forgetting crashes. */
export function tick(r0: ServiceRecord, now: number, policy: SupervisionPolicy = DEFAULT_POLICY): Result {
  const d = draft(r0, now);
  const r = d.r;
  const sup = r.supervision;
  if (r.state === 'STARTING' && r.startedAt !== undefined && now >= r.startedAt + sup.startSecs * 1000) {
    r.failedStarts = 0;
    if (r.health === 'unhealthy') {
      r.unhealthySince = now;
      move(d, 'UNHEALTHY', 'unhealthy');
    } else move(d, 'RUNNING', 'started');
  }
  if (r.state === 'UNHEALTHY' && unhealthyRestartAt(r) !== undefined && now >= unhealthyRestartAt(r)!) r.restartWanted = 'unhealthy';
  if ((r.state === 'RUNNING' || r.state === 'UNHEALTHY') && r.crashes > 0 && r.startedAt !== undefined && now >= r.startedAt + policy.stableRunMs) {
    r.crashes = 0;
    r.crashLoop = false;
  }
  return done(d);
}

/** When an unhealthy service is to be restarted, if it is to be (grace over, no operator pause). */
function unhealthyRestartAt(r: ServiceRecord): number | undefined {
  if (!r.supervision.restartUnhealthy || r.restartWanted || r.unhealthySince === undefined || r.control.stopped) return undefined;
  return Math.max(r.unhealthySince + r.supervision.unhealthyGraceSecs * 1000, r.control.pausedUntil ?? 0);
}

/** The next time `tick` or the intent of the record changes by itself, if ever. */
export function nextDeadline(r: ServiceRecord, policy: SupervisionPolicy = DEFAULT_POLICY): number | undefined {
  const at: number[] = [];
  if (r.state === 'STARTING' && r.startedAt !== undefined) at.push(r.startedAt + r.supervision.startSecs * 1000);
  if (r.state === 'UNHEALTHY') {
    const u = unhealthyRestartAt(r);
    if (u !== undefined) at.push(u);
  }
  if ((r.state === 'RUNNING' || r.state === 'UNHEALTHY') && r.crashes > 0 && r.startedAt !== undefined) at.push(r.startedAt + policy.stableRunMs);
  if (r.state === 'BACKOFF' && !r.control.stopped) at.push(dueAt(r));
  return at.length > 0 ? Math.min(...at) : undefined;
}

/** The applier created the service's container. */
export function created(r0: ServiceRecord, containerId: string, release: number, image: string, now: number): Result {
  const d = draft(r0, now);
  Object.assign(d.r, { containerId, ran: false, release, image, health: undefined, exitCode: undefined, oomKilled: undefined });
  return done(d);
}

/** The applier started the container (the engine accepted the start). */
export function started(r0: ServiceRecord, containerId: string, now: number, engineStartedAt?: number): Result {
  const d = draft(r0, now);
  const r = d.r;
  if (r.containerId === containerId && r.ran) r.restarts += 1;
  const reason = r.state === 'BACKOFF' ? 'backoff_done' : 'starting';
  Object.assign(r, {
    containerId, ran: true, startedAt: engineStartedAt ?? now, startedAtExact: engineStartedAt !== undefined, health: undefined, unhealthySince: undefined, exitCode: undefined,
    oomKilled: undefined, stopping: undefined, restartWanted: undefined, message: undefined,
  });
  move(d, 'STARTING', reason);
  return done(d);
}

/** The applier is about to stop the container for `reason`. */
export function stopIssued(r0: ServiceRecord, reason: StopReason, now: number): Result {
  const d = draft(r0, now);
  const r = d.r;
  r.stopping = reason;
  const why = reason === 'restart' ? (r.restartWanted ?? 'operator_restart') : reason === 'replace' ? 'spec_changed' : reason === 'remove' ? 'removed' : 'operator_stop';
  move(d, 'STOPPING', why);
  return done(d);
}

/** The stop the applier issued returned: the container is down. */
export function stopDone(r0: ServiceRecord, now: number, policy: SupervisionPolicy = DEFAULT_POLICY): Result {
  const d = draft(r0, now);
  if (d.r.state === 'STOPPING') stopFinished(d, policy);
  return done(d);
}

/** The applier removed the container (to replace it, or because it was dead). */
export function containerRemoved(r0: ServiceRecord, containerId: string, now: number, policy: SupervisionPolicy = DEFAULT_POLICY): Result {
  const d = draft(r0, now);
  const r = d.r;
  if (r.containerId !== containerId) return done(d);
  if (r.state === 'STOPPING') stopFinished(d, policy);
  else if (RUN_STATES.has(r.state)) move(d, 'PENDING', 'container_gone');
  Object.assign(r, { containerId: undefined, ran: false, health: undefined, unhealthySince: undefined });
  return done(d);
}
