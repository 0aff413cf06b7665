import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  AppSpecSchema,
  ServiceControlSchema,
  type AppSpec,
  type ServiceControl,
  type ServiceSpecInput,
  type StateDesiredMessage,
  type SupervisionEventData,
} from '@pifleet/protocol';
import { containerName, networkName, type ManagedContainer } from '../engine/engine.js';
import { FakeClock } from './clock.js';
import { configHash } from './config-hash.js';
import { inferSteps } from './infer-steps.js';
import type { PersistedCounters, SupervisionPolicy } from './service-machine.js';
import { Supervisor, serviceKey } from './supervisor.js';

/**
 * The supervisor in simulated time, against a simulated engine that executes the steps the real
 * inference plans (as the applier would, without IO). Jitter is off (random 0.5) unless a test
 * sets it.
 */
class Sim {
  readonly clock = new FakeClock();
  readonly events: (SupervisionEventData & { logTailOf?: string })[] = [];
  readonly containers = new Map<string, ManagedContainer>();
  readonly sup: Supervisor;
  intentChanges = 0;
  /** The supervisor's intents changed since the last reconcile (the runner would be triggered). */
  private dirty = false;
  persisted: Map<string, PersistedCounters> = new Map();
  private app!: AppSpec;
  private controls: StateDesiredMessage['controls'] = {};
  private nextId = 1;

  constructor(services: Record<string, ServiceSpecInput>, o: { policy?: Partial<SupervisionPolicy>; persisted?: Map<string, PersistedCounters>; containers?: ManagedContainer[] } = {}) {
    for (const c of o.containers ?? []) this.containers.set(c.id, c);
    this.sup = new Supervisor({
      clock: this.clock,
      policy: { random: () => 0.5, ...o.policy },
      ...(o.persisted ? { persisted: o.persisted } : {}),
      onEvent: (e, _at, logTailOf) => this.events.push({ ...e, ...(logTailOf ? { logTailOf } : {}) }),
      onIntentChange: () => {
        this.intentChanges++;
        this.dirty = true;
      },
      onChange: () => undefined,
      onPersist: (c) => (this.persisted = c),
    });
    this.desire(services);
  }

  desire(services: Record<string, ServiceSpecInput>, controls: Record<string, Partial<ServiceControl>> = {}, release = 1): void {
    this.app = AppSpecSchema.parse({ release, services });
    this.controls = { x: Object.fromEntries(Object.entries(controls).map(([s, c]) => [s, ServiceControlSchema.parse(c)])) };
    this.sup.setDesired({ x: this.app }, this.controls);
  }

  control(service: string, c: Partial<ServiceControl>): void {
    const all = Object.fromEntries(Object.entries(this.controls['x'] ?? {}).map(([k, v]) => [k, { ...v }]));
    all[service] = ServiceControlSchema.parse({ ...all[service], ...c });
    this.controls = { x: all };
    this.sup.setDesired({ x: this.app }, this.controls);
  }

  /** Runs inference passes against the simulated engine until nothing is left to do; returns what ran. */
  reconcile(): string[] {
    const ran: string[] = [];
    for (let pass = 0; pass < 20; pass++) {
      this.dirty = false;
      this.sup.observeAll([...this.containers.values()]);
      const steps = inferSteps({
        current: { containers: [...this.containers.values()], networks: [{ id: 'n', name: networkName('x', 'default'), app: 'x' }], volumes: [], images: new Set([...Object.values(this.app.services).map((s) => s.image)]) },
        apps: { x: this.app },
        view: (a, s) => this.sup.view(a, s),
      }).filter((s) => s.action !== 'waitFor');
      if (steps.length === 0) return ran;
      for (const s of steps) {
        const now = this.clock.now();
        switch (s.action) {
          case 'createContainer': {
            const id = `c${this.nextId++}`;
            this.containers.set(id, {
              id, name: containerName(s.app, s.service), app: s.app, service: s.service, configHash: s.configHash, release: s.release,
              image: s.spec.image, status: 'created', exitCode: null, oomKilled: false, startedAt: null, finishedAt: null, health: null,
            });
            this.sup.created(s.app, s.service, id, s.release, s.spec.image);
            ran.push(`create ${s.service}`);
            break;
          }
          case 'startContainer':
            Object.assign(this.containers.get(s.containerId)!, { status: 'running', startedAt: now, finishedAt: null, exitCode: null, oomKilled: false, health: null });
            this.sup.started(s.app, s.service, s.containerId, now);
            ran.push(`start ${s.service}`);
            break;
          case 'stopContainer':
            this.sup.stopIssued(s.app, s.service, s.reason);
            Object.assign(this.containers.get(s.containerId)!, { status: 'exited', exitCode: 143, finishedAt: now });
            this.sup.stopDone(s.app, s.service);
            ran.push(`stop ${s.service} ${s.reason}`);
            break;
          case 'removeContainer':
            this.containers.delete(s.containerId);
            this.sup.removed(s.app, s.service, s.containerId, s.reason);
            ran.push(`remove ${s.service}`);
            break;
          default:
            ran.push(s.action);
        }
      }
    }
    throw new Error('did not converge');
  }

  container(service: string): ManagedContainer {
    const c = [...this.containers.values()].find((x) => x.service === service);
    assert.ok(c, `no container for ${service}`);
    return c;
  }

  die(service: string, exitCode: number, oomKilled = false): void {
    const c = this.container(service);
    Object.assign(c, { status: 'exited', exitCode, oomKilled, finishedAt: this.clock.now(), health: null });
    this.sup.observeContainer({ ...c });
  }

  health(service: string, health: ManagedContainer['health']): void {
    const c = this.container(service);
    c.health = health;
    this.sup.observeContainer({ ...c });
  }

  /** Advances time, then reconciles if the supervisor's intents changed (as the runner would be triggered). */
  advance(ms: number): void {
    this.clock.advance(ms);
    if (this.dirty) this.reconcile();
  }

  state(service: string): string | undefined {
    return this.sup.record('x', service)?.state;
  }

  /** Transitions so far as `FROM>TO:reason`, optionally only those since index `from`. */
  moves(from = 0): string[] {
    return this.events.slice(from).map((e) => `${e.from}>${e.to}:${e.reason}`);
  }

  last(): SupervisionEventData & { logTailOf?: string } {
    return this.events.at(-1)!;
  }
}

const FAST = { supervision: { startSecs: 2, startRetries: 3 } } as const;

/** One `restart: always` service `a`, started and RUNNING for 5 s. */
function runningFor5s(o: ConstructorParameters<typeof Sim>[1] = {}): Sim {
  const s = new Sim({ a: { image: 'a', restart: 'always', ...FAST } }, o);
  s.reconcile();
  s.advance(5000);
  return s;
}

/** From RUNNING: a crash (restarted at once, the first), 5 s up again, a second crash: BACKOFF. */
function crashTwice(s: Sim): void {
  s.die('a', 1);
  s.advance(0);
  s.advance(5000);
  s.die('a', 1);
}

void test('a service starts, and is RUNNING once it stayed up startSecs', () => {
  const s = new Sim({ a: { image: 'a', ...FAST } });
  assert.deepEqual(s.reconcile(), ['create a', 'start a']);
  assert.equal(s.state('a'), 'STARTING');
  s.advance(1999);
  assert.equal(s.state('a'), 'STARTING');
  s.advance(1);
  assert.equal(s.state('a'), 'RUNNING');
  assert.deepEqual(s.moves(), ['PENDING>STARTING:starting', 'STARTING>RUNNING:started']);
  assert.deepEqual(s.reconcile(), [], 'converged');
});

void test('failed starts: retried after 1 s, 2 s, ..., FATAL after startRetries in a row, crashLoop at three', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', ...FAST } });
  s.reconcile();
  const delays: number[] = [];
  for (let i = 0; i < 3; i++) {
    s.advance(1000); // dies after 1 s: under startSecs
    s.die('a', 1);
    const e = s.last();
    if (e.to === 'BACKOFF') {
      delays.push(e.delayMs!);
      assert.equal(e.runMs, 1000);
      assert.equal(e.exitCode, 1);
      assert.ok(e.logTailOf, 'a death asks for the log tail');
      s.advance(e.delayMs!);
      assert.equal(s.state('a'), 'STARTING', 'restarted after the delay');
    }
  }
  assert.deepEqual(delays, [1000, 2000]);
  assert.equal(s.state('a'), 'FATAL');
  const fatal = s.last();
  assert.equal(fatal.reason, 'fatal_limit');
  assert.equal(fatal.crashLoop, true);
  assert.match(fatal.message!, /3 failed starts in a row/);
  assert.equal(s.sup.view('x', 'a')?.intent, 'hold');
  s.advance(3_600_000);
  assert.equal(s.state('a'), 'FATAL', 'FATAL stays');
  assert.deepEqual(s.reconcile(), [], 'and is not started');
});

void test('crash backoff after RUNNING: 0, 10, 20, 40, 80, 160, 300, 300 s; crashLoop from the third crash', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', ...FAST } });
  s.reconcile();
  const delays: number[] = [];
  const loops: boolean[] = [];
  for (let i = 0; i < 8; i++) {
    s.advance(5000); // past startSecs: RUNNING, then a crash
    assert.equal(s.state('a'), 'RUNNING');
    s.die('a', 2);
    assert.equal(s.state('a'), 'BACKOFF');
    delays.push(s.last().delayMs!);
    loops.push(s.last().crashLoop!);
    assert.equal(s.sup.statuses()['x']!['a']!.nextStartAt, s.clock.now() + s.last().delayMs!);
    if (s.last().delayMs! > 0) {
      s.advance(s.last().delayMs! - 1);
      assert.equal(s.state('a'), 'BACKOFF', 'not before the delay');
      s.advance(1);
    } else s.advance(0);
    assert.equal(s.state('a'), 'STARTING');
  }
  assert.deepEqual(delays, [0, 10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000]);
  assert.deepEqual(loops, [false, false, true, true, true, true, true, true]);
  assert.equal(s.sup.record('x', 'a')!.restarts, 8);
  assert.equal(s.sup.record('x', 'a')!.failedStarts, 0, 'runs past startSecs are not failed starts');
});

void test('crash delays have ±20 % jitter', () => {
  for (const [random, want] of [[0, 8000], [0.999999, 12_000]] as const) {
    const s = runningFor5s({ policy: { random: () => random } });
    crashTwice(s);
    assert.equal(s.last().delayMs, want);
  }
});

void test('10 minutes of running forget the crashes: the next crash restarts at once again', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', ...FAST } });
  s.reconcile();
  for (let i = 0; i < 3; i++) {
    s.advance(5000);
    s.die('a', 1);
    s.advance(s.last().delayMs!);
  }
  assert.equal(s.sup.record('x', 'a')!.crashLoop, true);
  s.advance(599_999);
  assert.equal(s.sup.record('x', 'a')!.crashes, 3);
  s.advance(1);
  assert.equal(s.sup.record('x', 'a')!.crashes, 0);
  assert.equal(s.sup.statuses()['x']!['a']!.crashLoop, false);
  s.die('a', 1);
  assert.equal(s.last().delayMs, 0);
  assert.equal(s.last().crashLoop, false);
});

void test('restart policies and success exit codes decide between EXITED and BACKOFF', () => {
  const cases: [ServiceSpecInput['restart'], number, number[] | undefined, string, number?][] = [
    ['no', 0, undefined, 'EXITED'],
    ['no', 1, undefined, 'EXITED'],
    ['on-failure', 0, undefined, 'EXITED'],
    ['on-failure', 1, undefined, 'BACKOFF', 0],
    ['on-failure', 3, [0, 3], 'EXITED'],
    ['always', 0, undefined, 'BACKOFF', 1000],
    ['always', 1, undefined, 'BACKOFF', 0],
    ['unless-stopped', 0, undefined, 'BACKOFF', 1000],
    ['unless-stopped', 7, undefined, 'BACKOFF', 0],
  ];
  for (const [restart, code, successExitCodes, want, delay] of cases) {
    const s = new Sim({ a: { image: 'a', restart, supervision: { startSecs: 2, ...(successExitCodes ? { successExitCodes } : {}) } } });
    s.reconcile();
    s.advance(5000);
    s.die('a', code);
    const label = `${restart} exit ${code}`;
    assert.equal(s.state('a'), want, label);
    assert.equal(s.last().delayMs, delay, label);
    if (want === 'EXITED') {
      s.advance(3_600_000);
      assert.deepEqual(s.reconcile(), [], `${label}: never restarted`);
    }
    const crashes = s.sup.record('x', 'a')!.crashes;
    assert.equal(crashes, want === 'BACKOFF' && delay === 0 ? 1 : 0, `${label}: a success exit is not a crash`);
  }
});

void test('a fatal exit code is FATAL at once', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', supervision: { startSecs: 2, fatalExitCodes: [78] } } });
  s.reconcile();
  s.advance(60_000);
  s.die('a', 78);
  assert.equal(s.state('a'), 'FATAL');
  assert.equal(s.last().reason, 'fatal_exit');
  assert.equal(s.last().exitCode, 78);
});

void test('an OOM kill is reported as oom and is a crash even with a success exit code', () => {
  const s = new Sim({ a: { image: 'a', restart: 'on-failure', supervision: { startSecs: 2, successExitCodes: [0, 137] } } });
  s.reconcile();
  s.advance(5000);
  s.die('a', 137, true);
  const e = s.last();
  assert.deepEqual([e.to, e.reason, e.oomKilled, e.exitCode], ['BACKOFF', 'oom', true, 137]);
  assert.equal(s.sup.statuses()['x']!['a']!.oomKilled, true);
});

void test('unhealthy past the grace period is restarted (a crash); healthy again in time is not', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', supervision: { startSecs: 1, unhealthyGraceSecs: 30 } } });
  s.reconcile();
  s.advance(2000);
  s.health('a', 'healthy');
  s.health('a', 'unhealthy');
  assert.equal(s.state('a'), 'UNHEALTHY');
  s.advance(29_000);
  s.health('a', 'healthy');
  assert.equal(s.state('a'), 'RUNNING');
  const mark = s.events.length;
  s.health('a', 'unhealthy');
  s.advance(30_000);
  assert.deepEqual(s.moves(mark), ['RUNNING>UNHEALTHY:unhealthy', 'UNHEALTHY>STOPPING:unhealthy', 'STOPPING>BACKOFF:unhealthy', 'BACKOFF>STARTING:backoff_done']);
  assert.equal(s.state('a'), 'STARTING');
  assert.equal(s.sup.record('x', 'a')!.crashes, 1);
  assert.equal(s.sup.record('x', 'a')!.restarts, 1);
});

void test('restartUnhealthy false leaves an unhealthy service running', () => {
  const s = new Sim({ a: { image: 'a', supervision: { startSecs: 1, unhealthyGraceSecs: 1, restartUnhealthy: false } } });
  s.reconcile();
  s.advance(2000);
  s.health('a', 'unhealthy');
  s.advance(3_600_000);
  assert.equal(s.state('a'), 'UNHEALTHY');
  assert.deepEqual(s.reconcile(), []);
});

void test('unhealthy while STARTING becomes UNHEALTHY once startSecs pass', () => {
  const s = new Sim({ a: { image: 'a', supervision: { startSecs: 5, unhealthyGraceSecs: 100 } } });
  s.reconcile();
  s.advance(1000);
  s.health('a', 'unhealthy');
  assert.equal(s.state('a'), 'STARTING');
  s.advance(4000);
  assert.equal(s.state('a'), 'UNHEALTHY');
});

void test('operator stop: STOPPING then STOPPED, never restarted; a start afterwards starts it afresh', () => {
  const s = runningFor5s();
  s.control('a', { stopped: true });
  assert.deepEqual(s.reconcile(), ['stop a operator_stop']);
  assert.equal(s.state('a'), 'STOPPED');
  assert.deepEqual(s.moves().slice(-2), ['RUNNING>STOPPING:operator_stop', 'STOPPING>STOPPED:stopped']);
  s.advance(3_600_000);
  assert.deepEqual(s.reconcile(), [], 'a stopped service stays stopped through reconciles');
  s.control('a', { stopped: false });
  assert.equal(s.state('a'), 'PENDING');
  assert.deepEqual(s.reconcile(), ['start a']);
  assert.equal(s.state('a'), 'STARTING');
});

void test('operator stop of a service in BACKOFF or FATAL: STOPPED at once, the pending restart cancelled', () => {
  const s = runningFor5s();
  crashTwice(s);
  assert.equal(s.state('a'), 'BACKOFF');
  s.control('a', { stopped: true });
  assert.equal(s.state('a'), 'STOPPED');
  s.advance(3_600_000);
  assert.equal(s.state('a'), 'STOPPED');
  assert.deepEqual(s.reconcile(), []);
});

void test('pausedUntil holds automatic restarts until then; the delay still applies after', () => {
  const s = runningFor5s();
  const until = s.clock.now() + 120_000;
  s.control('a', { pausedUntil: until });
  s.die('a', 1);
  assert.equal(s.state('a'), 'BACKOFF');
  assert.equal(s.sup.statuses()['x']!['a']!.nextStartAt, until);
  assert.equal(s.sup.statuses()['x']!['a']!.pausedUntil, until);
  s.advance(119_999);
  assert.equal(s.state('a'), 'BACKOFF');
  s.advance(1);
  assert.equal(s.state('a'), 'STARTING');
  assert.equal(s.sup.statuses()['x']!['a']!.pausedUntil, undefined, 'shown only while in force');
});

void test('pausedUntil also holds an unhealthy restart', () => {
  const s = new Sim({ a: { image: 'a', supervision: { startSecs: 1, unhealthyGraceSecs: 10 } } });
  s.reconcile();
  s.advance(2000);
  s.control('a', { pausedUntil: s.clock.now() + 60_000 });
  s.health('a', 'unhealthy');
  s.advance(59_000);
  assert.equal(s.state('a'), 'UNHEALTHY');
  s.advance(1000);
  assert.equal(s.state('a'), 'STARTING', 'restarted once the pause ended');
});

void test('restartSeq growth restarts once; the same seq again does nothing', () => {
  const s = new Sim({ a: { image: 'a', ...FAST } });
  s.reconcile();
  s.advance(5000);
  s.control('a', { restartSeq: 1 });
  assert.deepEqual(s.reconcile(), ['stop a restart', 'start a']);
  assert.deepEqual(s.moves().slice(-3), ['RUNNING>STOPPING:operator_restart', 'STOPPING>PENDING:stopped', 'PENDING>STARTING:starting']);
  assert.equal(s.sup.record('x', 'a')!.restarts, 1);
  s.control('a', { restartSeq: 1 });
  assert.deepEqual(s.reconcile(), []);
});

void test('restartSeq on an EXITED or FATAL service starts it once; FATAL keeps its failure count', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', supervision: { startSecs: 5, startRetries: 1 } } });
  s.reconcile();
  s.advance(1000);
  s.die('a', 1);
  assert.equal(s.state('a'), 'FATAL');
  s.control('a', { restartSeq: 4 });
  assert.equal(s.state('a'), 'PENDING');
  assert.deepEqual(s.reconcile(), ['start a']);
  s.advance(1000);
  s.die('a', 1);
  assert.equal(s.state('a'), 'FATAL', 'one more failed start is FATAL again');
});

void test('a new record takes the controls it finds as already acted on', () => {
  const s = new Sim({ a: { image: 'a' } });
  s.control('a', { restartSeq: 5, resetSeq: 2 });
  assert.equal(s.sup.record('x', 'a')!.actedRestartSeq, 5, 'an existing record acts on growth');
  const t = new Sim({});
  t.desire({ a: { image: 'a', ...FAST } }, { a: { restartSeq: 5, resetSeq: 2 } });
  assert.deepEqual(t.reconcile(), ['create a', 'start a']);
  assert.equal(t.sup.record('x', 'a')!.actedRestartSeq, 5);
  assert.deepEqual(t.reconcile(), []);
});

void test('resetSeq leaves FATAL with every count forgotten', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', supervision: { startSecs: 5, startRetries: 2 } } });
  s.reconcile();
  for (let i = 0; i < 2; i++) {
    s.advance(1000);
    s.die('a', 1);
    if (s.state('a') === 'BACKOFF') s.advance(s.last().delayMs!);
  }
  assert.equal(s.state('a'), 'FATAL');
  s.control('a', { resetSeq: 1 });
  assert.equal(s.last().reason, 'reset');
  const r = s.sup.record('x', 'a')!;
  assert.deepEqual([r.state, r.failedStarts, r.crashes, r.crashLoop, r.restarts], ['PENDING', 0, 0, false, 0]);
  assert.deepEqual(s.reconcile(), ['start a']);
});

void test('a new spec or new rules leave FATAL; a release alone does not', () => {
  const svc = { image: 'a', restart: 'always', supervision: { startSecs: 5, startRetries: 1 } } as const;
  const s = new Sim({ a: svc });
  s.reconcile();
  s.advance(1000);
  s.die('a', 1);
  assert.equal(s.state('a'), 'FATAL');
  s.desire({ a: svc }, {}, 2);
  assert.equal(s.state('a'), 'FATAL', 'release alone');
  s.desire({ a: { ...svc, supervision: { startSecs: 0.5, startRetries: 1 } } }, {}, 3);
  assert.equal(s.state('a'), 'PENDING', 'new rules');
  assert.deepEqual(s.reconcile(), ['start a'], 'rules alone do not recreate');
  s.advance(100);
  s.die('a', 1);
  assert.equal(s.state('a'), 'FATAL');
  s.desire({ a: { ...svc, environment: { X: '1' } } }, {}, 4);
  assert.equal(s.last().reason, 'spec_changed');
  assert.deepEqual(s.reconcile(), ['remove a', 'create a', 'start a']);
});

void test('a changed spec recreates a running service: STOPPING, PENDING, STARTING, restarts back to 0', () => {
  const s = new Sim({ a: { image: 'a', restart: 'always', ...FAST }, b: { image: 'b', ...FAST } });
  s.reconcile();
  s.advance(5000);
  s.die('a', 1);
  s.advance(0);
  const bId = s.container('b').id;
  s.desire({ a: { image: 'a', restart: 'always', environment: { V: '2' }, ...FAST }, b: { image: 'b', ...FAST } });
  const mark = s.events.length;
  assert.deepEqual(s.reconcile(), ['stop a replace', 'remove a', 'create a', 'start a']);
  assert.deepEqual(s.moves(mark), ['STARTING>STOPPING:spec_changed', 'STOPPING>PENDING:stopped', 'PENDING>STARTING:starting']);
  assert.equal(s.sup.record('x', 'a')!.restarts, 0);
  assert.equal(s.container('b').id, bId, 'the other service is untouched');
});

void test('FATAL and acted-on controls survive a supervisor restart; FATAL only for the same spec', () => {
  const svc = { image: 'a', restart: 'always', supervision: { startSecs: 5, startRetries: 1 } } as const;
  const s = new Sim({ a: svc });
  s.control('a', { restartSeq: 3 });
  s.reconcile();
  s.advance(1000);
  s.die('a', 1);
  assert.equal(s.state('a'), 'FATAL');
  const kept = new Map(s.persisted);
  assert.ok(kept.get(serviceKey('x', 'a'))?.fatal);
  const containers = [...s.containers.values()].map((c) => ({ ...c }));

  const again = new Sim({}, { persisted: kept, containers });
  again.desire({ a: svc }, { a: { restartSeq: 3 } });
  assert.equal(again.state('a'), 'FATAL');
  assert.deepEqual(again.reconcile(), [], 'still FATAL: not started, not restarted for the old restartSeq');
  assert.equal(again.state('a'), 'FATAL');

  const changed = new Sim({}, { persisted: kept, containers });
  changed.desire({ a: { ...svc, environment: { V: '2' } } }, { a: { restartSeq: 3 } });
  assert.equal(changed.state('a'), 'PENDING', 'a new spec is a new chance');
});

void test('at start, a running container is adopted and an exited one judged by its restart policy, no crash counted', () => {
  const app = AppSpecSchema.parse({ release: 1, services: { up: { image: 'u', ...FAST }, gone: { image: 'g', restart: 'always', ...FAST }, done: { image: 'd', ...FAST } } });
  const clock = new FakeClock();
  const mk = (service: string, over: Partial<ManagedContainer>): ManagedContainer => ({
    id: `c-${service}`, name: containerName('x', service), app: 'x', service, configHash: configHash(app.services[service]!), release: 1, image: 'i',
    status: 'running', exitCode: null, oomKilled: false, startedAt: clock.now() - 60_000, finishedAt: null, health: null, ...over,
  });
  const s = new Sim({}, {
    containers: [
      mk('up', {}),
      mk('gone', { status: 'exited', exitCode: 137, finishedAt: clock.now() - 1000 }),
      mk('done', { status: 'exited', exitCode: 0, finishedAt: clock.now() - 1000 }),
    ],
  });
  s.desire({ up: { image: 'u', ...FAST }, gone: { image: 'g', restart: 'always', ...FAST }, done: { image: 'd', ...FAST } });
  assert.deepEqual(s.reconcile(), ['start gone']);
  assert.equal(s.state('up'), 'RUNNING');
  assert.equal(s.state('done'), 'EXITED');
  assert.equal(s.sup.record('x', 'gone')!.crashes, 0);
  assert.deepEqual(s.moves().sort(), ['PENDING>EXITED:exited', 'PENDING>RUNNING:adopted', 'PENDING>STARTING:starting']);
});

void test('a container removed outside pifleet is created again', () => {
  const s = new Sim({ a: { image: 'a', ...FAST } });
  s.reconcile();
  s.advance(5000);
  s.containers.clear();
  assert.deepEqual(s.reconcile(), ['create a', 'start a']);
  assert.ok(s.moves().includes('RUNNING>PENDING:container_gone'));
});

void test('a removed service is stopped, removed and forgotten', () => {
  const s = new Sim({ a: { image: 'a', ...FAST }, b: { image: 'b', ...FAST } });
  s.reconcile();
  s.desire({ a: { image: 'a', ...FAST } });
  assert.deepEqual(s.reconcile(), ['stop b remove', 'remove b']);
  assert.equal(s.sup.record('x', 'b'), undefined);
  assert.deepEqual(Object.keys(s.sup.statuses()['x']!), ['a']);
  assert.deepEqual(s.moves().slice(-2), ['STARTING>STOPPING:removed', 'STOPPING>STOPPED:stopped']);
  assert.equal(s.persisted.has(serviceKey('x', 'b')), false);
});

void test('a second report of the same death changes nothing', () => {
  const s = runningFor5s();
  s.die('a', 1);
  const n = s.events.length;
  s.sup.observeContainer({ ...s.container('a') });
  s.sup.observeAll([...s.containers.values()]);
  assert.equal(s.events.length, n);
});

void test('the stop the applier issues is not a crash', () => {
  const s = runningFor5s();
  s.control('a', { restartSeq: 1 });
  s.reconcile();
  assert.equal(s.sup.record('x', 'a')!.crashes, 0);
  assert.ok(!s.moves().some((m) => m.includes('BACKOFF')));
});

void test('a late report of a run that already ended is ignored (an inspect answered before the death)', () => {
  const s = runningFor5s();
  const before = { ...s.container('a') }; // running, as an inspect taken now would say
  s.die('a', 1);
  s.advance(0); // restarted at once (first crash)
  assert.equal(s.state('a'), 'STARTING');
  const n = s.events.length;
  s.advance(100);
  const dead = { ...before, status: 'exited' as const, exitCode: 1, finishedAt: before.startedAt! + 5000 };
  s.sup.observeContainer(dead); // the exit of the earlier run, reported late
  s.sup.observeContainer(before); // the earlier run still "running", reported late
  assert.equal(s.state('a'), 'STARTING');
  assert.equal(s.events.length, n, 'no transition from stale reports');

  // And after a death (not restarted: BACKOFF), a late "running" report does not revive it.
  const t2 = runningFor5s();
  t2.die('a', 1);
  t2.advance(0);
  t2.advance(5000);
  const running = { ...t2.container('a') };
  t2.die('a', 1);
  assert.equal(t2.state('a'), 'BACKOFF');
  t2.sup.observeContainer(running);
  assert.equal(t2.state('a'), 'BACKOFF');
});

void test('a container started outside pifleet while in BACKOFF is adopted', () => {
  const s = runningFor5s();
  crashTwice(s);
  assert.equal(s.state('a'), 'BACKOFF');
  const c = s.container('a');
  Object.assign(c, { status: 'running', startedAt: s.clock.now(), finishedAt: null });
  s.sup.observeContainer({ ...c });
  assert.equal(s.state('a'), 'STARTING');
  assert.equal(s.last().reason, 'adopted');
});
