import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import Docker from 'dockerode';
import {
  StateDesiredMessageSchema,
  envelope,
  leafTopic,
  type ServiceControl,
  type ServiceSpecInput,
  type ServiceStatus,
  type StateReportedMessage,
  type SupervisionEventData,
} from '@pifleet/protocol';
import { DockerEngine } from '../engine/docker-engine.js';
import { LABELS, containerName } from '../engine/engine.js';
import { createLogger } from '../log/logger.js';
import type { MqttLink } from '../mqtt/mqtt-link.js';
import { TEST_DEVICE_ID } from '../testing/enroll-server.js';
import { ensureTestImages } from '../testing/podman-images.js';
import { eventually, startPodmanService, usePodman, type PodmanFixture } from '../testing/podman.js';
import { TestBroker, Watcher } from '../testing/test-broker.js';
import { Backoff } from '../util/backoff.js';
import { SupervisionService } from './supervision-service.js';
import { startLink, tempDir } from './test-support.js';

/**
 * Supervision end to end against a real Podman service: desired states published (retained) on
 * a real broker as the hub would, the agent's MqttLink, the SupervisionService with the Docker
 * API engine, and the hub's view (reported state, supervision events) read back from the broker.
 * Delays are shortened through the policy and x-pifleet fields; the rules are the production ones.
 */

const podman = usePodman();

const FAST_POLICY = { crashDelaysMs: [0, 400, 800, 1600], failedStartStepMs: 300, minRestartDelayMs: 200 };
const DESIRED = leafTopic(TEST_DEVICE_ID, 'state/desired');
const REPORTED = leafTopic(TEST_DEVICE_ID, 'state/reported');
const SUPERVISION = leafTopic(TEST_DEVICE_ID, 'evt/+', 'supervision');

/** A service that runs until stopped and ends at once on SIGTERM. */
const forever = (image: string, over: Partial<ServiceSpecInput> = {}): ServiceSpecInput => ({
  image,
  command: ['sh', '-c', "trap 'exit 0' TERM; echo up; sleep 600 & wait"],
  stopGraceMs: 2000,
  supervision: { startSecs: 0.5 },
  ...over,
});

interface Scene {
  app: string;
  docker: Docker;
  svc: SupervisionService;
  hub: Watcher;
  /** Publishes the next desired version (retained) and waits until the agent accepted it. */
  desire(services: Record<string, ServiceSpecInput>, controls?: Record<string, Partial<ServiceControl>>): Promise<number>;
  status(service: string): ServiceStatus | undefined;
  /** Supervision events of the app as the hub received them. */
  events(service?: string): SupervisionEventData[];
  lastReported(): StateReportedMessage | undefined;
  /** Stops the supervision service and starts a new one on the same data dir (an agent restart). */
  restart(): Promise<void>;
}

/** `engineEnv` points the agent at another engine than the shared one (a private service a test stops). */
async function scene(t: TestContext, p: PodmanFixture, engineEnv: NodeJS.ProcessEnv = p.env): Promise<Scene> {
  const broker = await TestBroker.start();
  t.after(() => broker.stop());
  const hub = await Watcher.connect(broker.url);
  t.after(() => hub.close());
  const dir = await tempDir(t);
  const app = p.app('sup');
  const log = createLogger(process.env['PIFLEET_TEST_LOG'] === '1' ? 'debug' : 'error');
  const engine = new DockerEngine({ env: engineEnv });
  t.after(() => engine.close());
  const ref: { svc?: SupervisionService } = {};
  const link: MqttLink = await startLink(t, broker, log, () => ref.svc?.linkUp());
  const make = async (): Promise<SupervisionService> => {
    const svc = new SupervisionService({
      engine,
      link,
      dataDir: dir,
      log,
      policy: FAST_POLICY,
      retryBackoff: new Backoff({ baseMs: 200, capMs: 1000 }),
      waitPollMs: 200,
      resyncMs: 2000,
      reportedMinIntervalMs: 50,
      ownsApp: (a) => a === app,
    });
    ref.svc = svc;
    await svc.start(new AbortController().signal);
    return svc;
  };
  let svc = await make();
  t.after(() => ref.svc?.stop());
  let version = 0;
  const s: Scene = {
    app,
    docker: new Docker({ socketPath: engineEnv['DOCKER_HOST']!.slice('unix://'.length) }),
    hub,
    get svc() {
      return svc;
    },
    async desire(services, controls = {}) {
      version += 1;
      const msg = StateDesiredMessageSchema.parse({
        ...envelope('state-desired'),
        version,
        apps: { [app]: { release: version, services } },
        controls: { [app]: controls },
      });
      await hub.publish(DESIRED, JSON.stringify(msg), true);
      const v = version;
      await eventually(`desired v${v} accepted`, async () => (svc.desiredVersion === v ? true : undefined), 5000);
      return v;
    },
    status: (service) => svc.supervisor.statuses()[app]?.[service],
    events: (service) =>
      hub.seen
        .filter((x) => x.topic === SUPERVISION)
        .map((x) => (x.json as { data: SupervisionEventData }).data)
        .filter((d) => d.app === app && (service === undefined || d.service === service)),
    lastReported: () => hub.seen.filter((x) => x.topic === REPORTED).at(-1)?.json as StateReportedMessage | undefined,
    async restart() {
      await svc.stop();
      svc = await make();
    },
  };
  return s;
}

const state = (s: Scene, service: string) => s.status(service)?.state;
const until = (what: string, fn: () => boolean, ms = 20_000) => eventually(what, async () => (fn() ? true : undefined), ms);
const moves = (events: SupervisionEventData[]) => events.map((e) => `${e.from}>${e.to}:${e.reason}`);

async function inspect(s: Scene, service: string) {
  return s.docker.getContainer(containerName(s.app, service)).inspect();
}

void test('a 3-service app converges; a changed env recreates only that service, a new release nothing, a removed service goes; an unmanaged container is never touched', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const s = await scene(t, p);
  const bb = p.images.busybox;
  // Looks like one of the app's containers, but is not pifleet's (no managed label).
  const other = await s.docker.createContainer({
    name: `other-${s.app}`,
    Image: bb,
    Cmd: ['sleep', '600'],
    Labels: { ...p.labels, [LABELS.app]: s.app, [LABELS.service]: 'db' },
    HostConfig: { NetworkMode: 'none' },
  });
  await other.start();
  const otherBefore = await other.inspect();

  const v1 = {
    db: forever(bb),
    api: forever(bb, { dependsOn: { db: 'service_started' } }),
    web: forever(bb, { dependsOn: { api: 'service_started' } }),
  };
  const v = await s.desire(v1);
  await until('all RUNNING', () => ['db', 'api', 'web'].every((x) => state(s, x) === 'RUNNING'));
  await until('reported converged', () => {
    const r = s.lastReported();
    return r?.appliedVersion === v && ['db', 'api', 'web'].every((x) => r.apps[s.app]?.[x]?.state === 'RUNNING') && r.engine === 'up';
  });
  const started = await Promise.all(['db', 'api', 'web'].map(async (x) => Date.parse((await inspect(s, x)).State.StartedAt)));
  assert.ok(started[0]! <= started[1]! && started[1]! <= started[2]!, `started in dependency order: ${started.join(' ')}`);
  const ids = Object.fromEntries(['db', 'api', 'web'].map((x) => [x, s.status(x)!.containerId!]));
  for (const x of ['db', 'api', 'web']) assert.deepEqual(moves(s.events(x)).slice(0, 2), ['PENDING>STARTING:starting', 'STARTING>RUNNING:started']);

  // One service's environment changes: only its container is replaced.
  await s.desire({ ...v1, api: { ...v1.api, environment: { LOG: 'debug' } } });
  await until('api recreated', () => s.status('api')?.containerId !== ids['api'] && state(s, 'api') === 'RUNNING');
  assert.equal(s.status('db')!.containerId, ids['db']);
  assert.equal(s.status('web')!.containerId, ids['web']);
  assert.deepEqual((await inspect(s, 'api')).Config.Env.filter((e) => e.startsWith('LOG=')), ['LOG=debug']);
  assert.ok(moves(s.events('api')).includes('RUNNING>STOPPING:spec_changed'));
  const apiId = s.status('api')!.containerId!;

  // A new release with the same services: nothing is recreated.
  const v3 = await s.desire({ ...v1, api: { ...v1.api, environment: { LOG: 'debug' } } });
  await until('v3 applied', () => s.svc.applied === v3);
  assert.deepEqual(['db', 'api', 'web'].map((x) => s.status(x)!.containerId), [ids['db'], apiId, ids['web']]);

  // web is removed from the app: its container goes, the others stay.
  const v4 = await s.desire({ db: v1.db, api: { ...v1.api, environment: { LOG: 'debug' } } });
  await until('web removed', () => s.svc.applied === v4 && s.status('web') === undefined);
  await assert.rejects(inspect(s, 'web'), /no such container|404/i);
  assert.equal(s.status('db')!.containerId, ids['db']);
  await until('reported without web', () => s.lastReported()?.apps[s.app]?.['web'] === undefined && s.lastReported()?.appliedVersion === v4);

  const otherAfter = await other.inspect();
  assert.equal(otherAfter.State.Running, true, 'the unmanaged container still runs');
  assert.equal(otherAfter.State.StartedAt, otherBefore.State.StartedAt, 'and was never restarted');

  const ids2 = s.events().map((e) => JSON.stringify(e));
  assert.ok(ids2.length >= 9, 'transitions reached the hub');
});

void test('a service that keeps failing: BACKOFF with growing delays, crashLoop, FATAL at the limit with its log tail; reset starts it again', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const s = await scene(t, p);
  const crash: ServiceSpecInput = {
    image: p.images.busybox,
    command: ['sh', '-c', 'echo boom; sleep 1; exit 1'],
    restart: 'always',
    supervision: { startSecs: 2, startRetries: 4 },
  };
  await s.desire({ crash });
  await until('FATAL', () => state(s, 'crash') === 'FATAL', 30_000);
  await until('FATAL reached the hub', () => s.events('crash').some((e) => e.to === 'FATAL'));
  const ev = s.events('crash');
  const backoffs = ev.filter((e) => e.to === 'BACKOFF');
  assert.deepEqual(backoffs.map((e) => e.delayMs), [300, 600, 900], `failed starts are retried after growing delays: ${moves(ev).join(', ')}`);
  assert.deepEqual(backoffs.map((e) => e.crashLoop), [false, false, true]);
  for (const e of backoffs) {
    assert.equal(e.exitCode, 1);
    assert.ok(e.runMs! >= 900 && e.runMs! < 2000, `a run of ${e.runMs} ms is a failed start`);
  }
  const fatal = ev.find((e) => e.to === 'FATAL')!;
  assert.equal(fatal.reason, 'fatal_limit');
  assert.equal(fatal.crashLoop, true);
  assert.ok(fatal.logTail?.includes('boom'), `log tail: ${JSON.stringify(fatal.logTail)}`);
  assert.equal(s.status('crash')!.restarts, 3);
  await until('FATAL reported', () => s.lastReported()?.apps[s.app]?.['crash']?.state === 'FATAL');
  // FATAL stays: not started again.
  const finished = (await inspect(s, 'crash')).State.FinishedAt;
  await new Promise((r) => setTimeout(r, 1500));
  assert.equal((await inspect(s, 'crash')).State.FinishedAt, finished);
  assert.equal(state(s, 'crash'), 'FATAL');

  await s.desire({ crash }, { crash: { resetSeq: 1 } });
  await until('started again after reset', () => moves(s.events('crash')).includes('PENDING>STARTING:starting') && s.events('crash').some((e) => e.reason === 'reset'));
  const reset = s.events('crash').find((e) => e.reason === 'reset')!;
  assert.deepEqual([reset.from, reset.to, reset.restarts, reset.crashLoop], ['FATAL', 'PENDING', 0, false]);
});

void test('depends_on service_healthy waits for the health check; an unhealthy service is restarted, its dependent untouched', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const s = await scene(t, p);
  const bb = p.images.busybox;
  const db: ServiceSpecInput = {
    image: bb,
    // Healthy after 1.5 s, unhealthy 2.5 s later (each run of the container does the same).
    command: ['sh', '-c', "trap 'exit 0' TERM; rm -f /tmp/ok; sleep 1.5; touch /tmp/ok; sleep 2.5; rm /tmp/ok; sleep 600 & wait"],
    healthcheck: { test: ['CMD-SHELL', 'test -f /tmp/ok'], intervalMs: 300, timeoutMs: 2000, retries: 1 },
    stopGraceMs: 2000,
    restart: 'always',
    supervision: { startSecs: 0.5, unhealthyGraceSecs: 1 },
  };
  await s.desire({ db, web: forever(bb, { dependsOn: { db: 'service_healthy' } }) });
  await until('web waits for db', () => s.status('web')?.message === 'waiting for db (service_healthy)', 10_000);
  await until('web RUNNING', () => state(s, 'web') === 'RUNNING', 15_000);
  const dbStart = Date.parse((await inspect(s, 'db')).State.StartedAt);
  const webStart = Date.parse((await inspect(s, 'web')).State.StartedAt);
  assert.ok(webStart - dbStart >= 1400, `web started ${webStart - dbStart} ms after db: only once db was healthy`);
  const webId = s.status('web')!.containerId;
  const dbId = s.status('db')!.containerId;

  await until('db restarted for being unhealthy', () => {
    const m = moves(s.events('db'));
    const i = m.indexOf('UNHEALTHY>STOPPING:unhealthy');
    return i >= 0 && m.slice(i).includes('BACKOFF>STARTING:backoff_done');
  }, 20_000);
  assert.ok(moves(s.events('db')).includes('RUNNING>UNHEALTHY:unhealthy'));
  assert.equal(s.status('db')!.containerId, dbId, 'restarted, not recreated');
  assert.ok(s.status('db')!.restarts >= 1);
  assert.equal(s.status('web')!.containerId, webId);
  assert.equal((await inspect(s, 'web')).State.Running, true, 'the dependent keeps running');
  assert.ok(!s.events('web').some((e) => e.to === 'STOPPING'));
});

void test('an operator stop survives a reconcile and an agent restart; a start brings it back', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const s = await scene(t, p);
  const bb = p.images.busybox;
  const services = { a: forever(bb, { restart: 'always' }), b: forever(bb) };
  await s.desire(services);
  await until('both RUNNING', () => state(s, 'a') === 'RUNNING' && state(s, 'b') === 'RUNNING');

  await s.desire(services, { a: { stopped: true } });
  await until('a STOPPED', () => state(s, 'a') === 'STOPPED');
  const stoppedAt = (await inspect(s, 'a')).State.FinishedAt;
  assert.equal((await inspect(s, 'a')).State.Running, false);
  assert.deepEqual(moves(s.events('a')).slice(-2), ['RUNNING>STOPPING:operator_stop', 'STOPPING>STOPPED:stopped']);

  // Another service changes: the reconcile leaves the stopped one stopped.
  const bId = s.status('b')!.containerId;
  const v3 = await s.desire({ ...services, b: { ...services.b, environment: { V: '3' } } }, { a: { stopped: true } });
  await until('b recreated', () => s.svc.applied === v3 && s.status('b')?.containerId !== bId && state(s, 'b') === 'RUNNING');
  assert.equal(state(s, 'a'), 'STOPPED');

  // The agent restarts (offline: the retained desired state is the one it stored).
  await s.restart();
  await until('restarted agent applied', () => s.svc.applied === v3, 10_000);
  assert.equal(state(s, 'a'), 'STOPPED');
  const after = await inspect(s, 'a');
  assert.equal(after.State.Running, false, 'not started by the new agent');
  assert.equal(after.State.FinishedAt, stoppedAt);
  assert.equal(state(s, 'b'), 'RUNNING');

  await s.desire({ ...services, b: { ...services.b, environment: { V: '3' } } }, { a: { stopped: false } });
  await until('a RUNNING again', () => state(s, 'a') === 'RUNNING');
});

void test('the engine goes away: reported down, the agent keeps accepting; once it is back the new state is applied', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  // A service of its own: this test kills it, which must not hit the run's shared one.
  const engineSvc = await startPodmanService();
  t.after(() => engineSvc.stop());
  const images = await ensureTestImages(engineSvc.socketPath);
  const s = await scene(t, p, { DOCKER_HOST: engineSvc.dockerHost });
  const a = forever(images.busybox);
  await s.desire({ a });
  await until('a RUNNING', () => state(s, 'a') === 'RUNNING');
  await until('engine reported up', () => s.lastReported()?.engine === 'up');

  await engineSvc.kill();
  await until('engine reported down', () => s.lastReported()?.engine === 'down', 15_000);
  const v = await s.desire({ a, b: forever(images.busybox) });
  await until('accepted while down', () => s.lastReported()?.desiredVersion === v && s.lastReported()?.appliedVersion !== v);
  await until('the failed apply says why', () => s.lastReported()?.error?.code === 'engine_down', 15_000);

  await engineSvc.start();
  await until('b RUNNING once the engine is back', () => state(s, 'b') === 'RUNNING', 30_000);
  await until('converged and clean', () => {
    const r = s.lastReported();
    return r?.appliedVersion === v && r.engine === 'up' && r.error === undefined;
  }, 15_000);
  assert.equal(state(s, 'a'), 'RUNNING');
});
