import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppSpecSchema, ServiceSpecSchema, type AppSpec, type AppSpecInput, type DependsCondition, type ServiceSpecInput, type ServiceState } from '@pifleet/protocol';
import { containerName, networkName, volumeName, type ManagedContainer, type ManagedNetwork, type ManagedVolume } from '../engine/engine.js';
import { configHash } from './config-hash.js';
import { dependencyMet, inferSteps, type EngineSnapshot, type InferInput, type RunIntent, type ServiceView } from './infer-steps.js';
import { describeStep, type Step } from './steps.js';
import { startOrder, validateApp } from './validate-app.js';

const mkApp = (services: Record<string, ServiceSpecInput>, extra: Partial<AppSpecInput> = {}): AppSpec =>
  AppSpecSchema.parse({ release: 1, services, ...extra });

/** A container of `app.services[service]` as the engine would list it (running, current hash). */
function ctr(appName: string, app: AppSpec, service: string, over: Partial<ManagedContainer> = {}): ManagedContainer {
  const s = app.services[service] ?? ServiceSpecSchema.parse({ image: 'gone:1' });
  return {
    id: `${appName}-${service}`,
    name: containerName(appName, service),
    app: appName,
    service,
    configHash: configHash(s),
    release: app.release,
    image: s.image,
    status: 'running',
    exitCode: null,
    oomKilled: false,
    startedAt: 1000,
    finishedAt: null,
    health: null,
    ...over,
  };
}

const net = (app: string, n = 'default'): ManagedNetwork => ({ id: `net-${app}-${n}`, name: networkName(app, n), app });
const vol = (app: string, v: string): ManagedVolume => ({ name: volumeName(app, v), app });

interface Case {
  current?: Partial<EngineSnapshot>;
  apps?: Record<string, AppSpec>;
  views?: Record<string, RunIntent | ServiceView>;
  frozen?: string[];
  keepVolumes?: boolean;
}

/** Runs inference and returns the steps as one line each (describeStep), the way the tests compare them. */
function plan(c: Case): string[] {
  return steps(c).map(describeStep);
}

function steps(c: Case): Step[] {
  const apps = c.apps ?? {};
  const images = c.current?.images ?? new Set(Object.values(apps).flatMap((a) => Object.values(a.services).map((s) => s.image)));
  const input: InferInput = {
    current: { containers: [], volumes: [], networks: [], ...c.current, images },
    apps,
    view: (app, service) => {
      const v = c.views?.[`${app}/${service}`];
      if (v === undefined) return undefined;
      return typeof v === 'string' ? { intent: v, state: 'PENDING' } : v;
    },
    ...(c.frozen ? { frozen: new Set(c.frozen) } : {}),
    ...(c.keepVolumes ? { keepVolumesOfRemovedApps: true } : {}),
  };
  return inferSteps(input);
}

const web3 = mkApp(
  {
    db: { image: 'postgres:16', mounts: [{ type: 'volume', source: 'data', target: '/var/lib/postgresql/data' }] },
    api: { image: 'api:1', dependsOn: { db: 'service_started' } },
    web: { image: 'web:1', dependsOn: { api: 'service_started' } },
  },
  { volumes: { data: {} } },
);
const all3 = (over: Partial<Record<'db' | 'api' | 'web', Partial<ManagedContainer>>> = {}): ManagedContainer[] =>
  (['db', 'api', 'web'] as const).map((s) => ctr('shop', web3, s, over[s]));
const settled = { networks: [net('shop')], volumes: [vol('shop', 'data')] };

void test('nothing desired and nothing there: no steps', () => {
  assert.deepEqual(plan({}), []);
});

void test('a new app without its images: networks and volumes first, then one pull per image', () => {
  const app = mkApp({ a: { image: 'same:1' }, b: { image: 'same:1' }, c: { image: 'other:1' } }, { volumes: { v: {} } });
  const s = steps({ apps: { x: app }, current: { images: new Set() } });
  assert.deepEqual(s.map(describeStep), ['create network x/default', 'create volume x/v', 'pull same:1', 'pull other:1']);
  const pull = s.find((x) => x.action === 'fetchImage' && x.image === 'same:1');
  assert.deepEqual(pull?.action === 'fetchImage' && pull.services, [{ app: 'x', service: 'a' }, { app: 'x', service: 'b' }]);
});

void test('a new app with its images: every container created, dependencies first', () => {
  assert.deepEqual(plan({ apps: { shop: web3 } }), ['create network shop/default', 'create volume shop/data', 'create shop/db', 'create shop/api', 'create shop/web']);
});

void test('created containers start in dependency order, a dependent waits for its dependency', () => {
  const s = steps({ apps: { shop: web3 }, current: { ...settled, containers: all3({ db: { status: 'created' }, api: { status: 'created' }, web: { status: 'created' } }) } });
  assert.deepEqual(s.map(describeStep), ['start shop/db', 'shop/api waits for db (service_started)', 'shop/web waits for api (service_started)']);
});

void test('converged: everything running with the desired hash gives no steps', () => {
  assert.deepEqual(plan({ apps: { shop: web3 }, current: { ...settled, containers: all3() } }), []);
});

void test('a new release that changes nothing a container is made from recreates nothing', () => {
  const next = { ...web3, release: 7, services: { ...web3.services, web: { ...web3.services.web!, restart: 'always' as const, supervision: { ...web3.services.web!.supervision, startRetries: 1 } } } };
  assert.deepEqual(plan({ apps: { shop: next }, current: { ...settled, containers: all3() } }), []);
});

void test('a changed environment recreates that service only: stop, remove, create (its start comes next pass)', () => {
  const next = mkApp(
    { ...web3.services, api: { ...web3.services.api!, environment: { LOG: 'debug' } } },
    { volumes: { data: {} } },
  );
  const s = steps({ apps: { shop: next }, current: { ...settled, containers: all3() } });
  assert.deepEqual(s.map(describeStep), ['stop shop/api (replace)', 'remove shop/api (replace)', 'create shop/api']);
  const create = s.find((x) => x.action === 'createContainer');
  assert.equal(create?.action === 'createContainer' && create.configHash, configHash(next.services.api!));
});

void test('a changed spec whose image is not there yet: pull first, the old container keeps running', () => {
  const next = mkApp({ ...web3.services, api: { ...web3.services.api!, image: 'api:2' } }, { volumes: { data: {} } });
  const images = new Set(['postgres:16', 'api:1', 'web:1']);
  assert.deepEqual(plan({ apps: { shop: next }, current: { ...settled, containers: all3(), images } }), ['pull api:2']);
});

void test('several changed services: dependents stop first, dependencies are created first', () => {
  const next = mkApp(
    {
      db: { ...web3.services.db!, environment: { A: '1' } },
      api: { ...web3.services.api!, environment: { A: '1' } },
      web: { ...web3.services.web!, environment: { A: '1' } },
    },
    { volumes: { data: {} } },
  );
  assert.deepEqual(plan({ apps: { shop: next }, current: { ...settled, containers: all3() } }), [
    'stop shop/web (replace)',
    'stop shop/api (replace)',
    'stop shop/db (replace)',
    'remove shop/web (replace)',
    'remove shop/api (replace)',
    'remove shop/db (replace)',
    'create shop/db',
    'create shop/api',
    'create shop/web',
  ]);
});

void test('a replaced container that was not running is removed without a stop', () => {
  const next = mkApp({ ...web3.services, web: { ...web3.services.web!, command: ['serve'] } }, { volumes: { data: {} } });
  assert.deepEqual(plan({ apps: { shop: next }, current: { ...settled, containers: all3({ web: { status: 'exited', exitCode: 1 } }) } }), [
    'remove shop/web (replace)',
    'create shop/web',
  ]);
});

void test('stop carries the spec grace and signal', () => {
  const next = mkApp({ a: { image: 'a:1', stopGraceMs: 2500, stopSignal: 'SIGINT' } });
  const s = steps({ apps: { x: next }, current: { networks: [net('x')], containers: [ctr('x', next, 'a')] }, views: { 'x/a': 'stop' } });
  assert.deepEqual(s, [{ action: 'stopContainer', app: 'x', service: 'a', containerId: 'x-a', graceMs: 2500, signal: 'SIGINT', reason: 'operator_stop' }]);
});

void test('a removed service: its container is stopped and removed, the rest untouched', () => {
  const next = mkApp({ db: web3.services.db!, api: web3.services.api! }, { volumes: { data: {} } });
  assert.deepEqual(plan({ apps: { shop: next }, current: { ...settled, containers: all3() } }), ['stop shop/web (remove)', 'remove shop/web (remove)']);
});

void test('a container whose spec is gone is stopped with the grace and signal it was created with', () => {
  const next = mkApp({ db: web3.services.db!, api: web3.services.api! }, { volumes: { data: {} } });
  const [stop] = steps({ apps: { shop: next }, current: { ...settled, containers: all3({ web: { stopGraceMs: 1000, stopSignal: 'SIGINT' } }) } });
  assert.deepEqual(stop && stop.action === 'stopContainer' ? [stop.service, stop.graceMs, stop.signal] : stop, ['web', 1000, 'SIGINT']);
});

void test('a removed app: containers stopped and removed, then its networks and volumes', () => {
  assert.deepEqual(plan({ apps: {}, current: { ...settled, containers: all3({ web: { status: 'exited' } }) } }), [
    'stop shop/db (remove)',
    'stop shop/api (remove)',
    'remove shop/db (remove)',
    'remove shop/api (remove)',
    'remove shop/web (remove)',
    `remove network ${networkName('shop', 'default')}`,
    `remove volume ${volumeName('shop', 'data')}`,
  ]);
});

void test('keepVolumesOfRemovedApps keeps a removed app volumes', () => {
  const p = plan({ apps: {}, current: { ...settled, containers: [] }, keepVolumes: true });
  assert.deepEqual(p, [`remove network ${networkName('shop', 'default')}`]);
});

void test('a volume dropped from a deployed app is kept; a network no service joins is removed', () => {
  const next = mkApp({ db: { image: 'postgres:16' } });
  const s = plan({
    apps: { shop: next },
    current: { networks: [net('shop'), net('shop', 'back')], volumes: [vol('shop', 'data')], containers: [ctr('shop', next, 'db')] },
  });
  assert.deepEqual(s, [`remove network ${networkName('shop', 'back')}`]);
});

void test('an unneeded network stays while a container of the old spec still waits for its image', () => {
  const old = mkApp({ a: { image: 'a:1', networks: ['back'] } }, { networks: { back: {} } });
  const next = mkApp({ a: { image: 'a:2' } });
  const p = plan({
    apps: { x: next },
    current: { networks: [net('x', 'back'), net('x')], containers: [ctr('x', old, 'a')], images: new Set(['a:1']) },
  });
  assert.deepEqual(p, ['pull a:2']);
});

void test('networks: declared options are used, host mode needs none, named ones replace the default', () => {
  const app = mkApp(
    { h: { image: 'i', networkMode: 'host' }, n: { image: 'i', networks: ['back', 'front'] } },
    { networks: { back: { internal: true, labels: { a: 'b' } }, front: {} } },
  );
  const s = steps({ apps: { x: app } }).filter((x) => x.action === 'createNetwork');
  assert.deepEqual(s, [
    { action: 'createNetwork', app: 'x', network: 'back', internal: true, labels: { a: 'b' } },
    { action: 'createNetwork', app: 'x', network: 'front', internal: false, labels: {} },
  ]);
});

void test('a bundle image is fetched as a bundle', () => {
  const bundle = { id: 'b1', sha256: 'a'.repeat(64), size: 10 };
  const app = mkApp({ a: { image: 'local/a:1', bundle } });
  const s = steps({ apps: { x: app }, current: { networks: [net('x')], images: new Set() } });
  assert.deepEqual(s, [{ action: 'fetchImage', image: 'local/a:1', bundle, services: [{ app: 'x', service: 'a' }] }]);
  assert.equal(describeStep(s[0]!), 'load bundle local/a:1');
});

void test('supervisor intents decide starts and stops of an up-to-date container', () => {
  const app = mkApp({ a: { image: 'a:1' } });
  const cases: [RunIntent, ManagedContainer['status'], string[]][] = [
    ['start', 'created', ['start x/a']],
    ['start', 'exited', ['start x/a']],
    ['start', 'running', []],
    ['keep', 'exited', []],
    ['keep', 'running', []],
    ['hold', 'exited', []],
    ['hold', 'running', []],
    ['stop', 'running', ['stop x/a (operator_stop)']],
    ['stop', 'paused', ['stop x/a (operator_stop)']],
    ['stop', 'exited', []],
    ['restart', 'running', ['stop x/a (restart)']],
    ['restart', 'exited', []],
    ['start', 'removing', []],
  ];
  for (const [intent, status, want] of cases) {
    const p = plan({ apps: { x: app }, current: { networks: [net('x')], containers: [ctr('x', app, 'a', { status })] }, views: { 'x/a': intent } });
    assert.deepEqual(p, want, `${intent} on ${status}`);
  }
});

void test('an operator stop still stops a container whose new image is being pulled', () => {
  const old = mkApp({ a: { image: 'a:1' } });
  const next = mkApp({ a: { image: 'a:2' } });
  const p = plan({ apps: { x: next }, current: { networks: [net('x')], containers: [ctr('x', old, 'a')], images: new Set(['a:1']) }, views: { 'x/a': 'stop' } });
  assert.deepEqual(p, ['stop x/a (operator_stop)', 'pull a:2']);
});

void test('a stopped service whose container is gone is created again, not started', () => {
  const app = mkApp({ a: { image: 'a:1' } });
  assert.deepEqual(plan({ apps: { x: app }, current: { networks: [net('x')] }, views: { 'x/a': 'stop' } }), ['create x/a']);
  const created = [ctr('x', app, 'a', { status: 'created' })];
  assert.deepEqual(plan({ apps: { x: app }, current: { networks: [net('x')], containers: created }, views: { 'x/a': 'stop' } }), []);
});

void test('dependency conditions, as the dependency container and state meet them', () => {
  const cases: [DependsCondition, Partial<ManagedContainer>, ServiceState, boolean][] = [
    ['service_started', { status: 'running' }, 'STARTING', true],
    ['service_started', { status: 'created', startedAt: null }, 'PENDING', false],
    ['service_started', { status: 'exited', exitCode: 0 }, 'EXITED', true],
    ['service_started', { status: 'exited', exitCode: 1 }, 'BACKOFF', false],
    ['service_healthy', { status: 'running', health: 'healthy' }, 'RUNNING', true],
    ['service_healthy', { status: 'running', health: 'starting' }, 'RUNNING', false],
    ['service_healthy', { status: 'running', health: 'unhealthy' }, 'UNHEALTHY', false],
    ['service_healthy', { status: 'running', health: null }, 'RUNNING', false],
    ['service_healthy', { status: 'exited', health: 'healthy' }, 'BACKOFF', false],
    ['service_completed_successfully', { status: 'exited', exitCode: 0 }, 'EXITED', true],
    ['service_completed_successfully', { status: 'exited', exitCode: 3 }, 'EXITED', false],
    ['service_completed_successfully', { status: 'running' }, 'RUNNING', false],
    ['service_completed_successfully', { status: 'created', exitCode: 0, startedAt: null }, 'PENDING', false],
  ];
  for (const [cond, over, state, want] of cases) {
    const app = mkApp({ dep: { image: 'd' }, svc: { image: 's', dependsOn: { dep: cond } } });
    const c = ctr('x', app, 'dep', over);
    assert.equal(dependencyMet(cond, c, state), want, `${cond} with ${JSON.stringify(over)} ${state}`);
    const p = plan({
      apps: { x: app },
      current: { networks: [net('x')], containers: [c, ctr('x', app, 'svc', { status: 'created' })] },
      views: { 'x/dep': { intent: 'hold', state }, 'x/svc': 'start' },
    });
    assert.deepEqual(p, want ? ['start x/svc'] : [`x/svc waits for dep (${cond})`], `${cond} plan`);
  }
});

void test('a dependency of an outdated spec does not count, even when healthy', () => {
  const old = mkApp({ dep: { image: 'd' } });
  const app = mkApp({ dep: { image: 'd', environment: { V: '2' } }, svc: { image: 's', dependsOn: { dep: 'service_healthy' } } });
  const p = plan({
    apps: { x: app },
    current: { networks: [net('x')], containers: [ctr('x', old, 'dep', { health: 'healthy' }), ctr('x', app, 'svc', { status: 'created' })] },
  });
  assert.deepEqual(p, ['stop x/dep (replace)', 'remove x/dep (replace)', 'create x/dep', 'x/svc waits for dep (service_healthy)']);
});

void test('a one-shot job gates its dependent until it exits 0', () => {
  const app = mkApp({ migrate: { image: 'm' }, api: { image: 'a', dependsOn: { migrate: 'service_completed_successfully' } } });
  const base = { networks: [net('x')] };
  const running = plan({ apps: { x: app }, current: { ...base, containers: [ctr('x', app, 'migrate'), ctr('x', app, 'api', { status: 'created' })] } });
  assert.deepEqual(running, ['x/api waits for migrate (service_completed_successfully)']);
  const finished = plan({
    apps: { x: app },
    current: { ...base, containers: [ctr('x', app, 'migrate', { status: 'exited', exitCode: 0 }), ctr('x', app, 'api', { status: 'created' })] },
    views: { 'x/migrate': { intent: 'hold', state: 'EXITED' } },
  });
  assert.deepEqual(finished, ['start x/api']);
});

void test('service: network mode waits for that service container before it is created', () => {
  const app = mkApp({ vpn: { image: 'v' }, app: { image: 'a', networkMode: 'service:vpn' } });
  assert.deepEqual(plan({ apps: { x: app } }), ['create network x/default', 'create x/vpn', 'x/app waits for vpn (service_started)']);
  const p = plan({ apps: { x: app }, current: { networks: [net('x')], containers: [ctr('x', app, 'vpn')] } });
  assert.deepEqual(p, ['create x/app']);
});

void test('a dead container is removed and created again', () => {
  const app = mkApp({ a: { image: 'a:1' } });
  assert.deepEqual(plan({ apps: { x: app }, current: { networks: [net('x')], containers: [ctr('x', app, 'a', { status: 'dead' })] } }), [
    'remove x/a (dead)',
    'create x/a',
  ]);
});

void test('duplicate containers of one service: the one of the desired spec stays', () => {
  const old = mkApp({ a: { image: 'a:0' } });
  const app = mkApp({ a: { image: 'a:1' } });
  const p = plan({ apps: { x: app }, current: { networks: [net('x')], containers: [ctr('x', old, 'a', { id: 'old' }), ctr('x', app, 'a', { id: 'new' })] } });
  assert.deepEqual(p, ['stop x/a (remove)', 'remove x/a (remove)']);
  const s = steps({ apps: { x: app }, current: { networks: [net('x')], containers: [ctr('x', old, 'a', { id: 'old' }), ctr('x', app, 'a', { id: 'new' })] } });
  assert.ok(s.every((x) => x.action !== 'removeContainer' || x.containerId === 'old'));
});

void test('a frozen app (invalid spec) is left exactly as it is', () => {
  const p = plan({ apps: { shop: mkApp({ other: { image: 'o' } }) }, frozen: ['shop'], current: { ...settled, containers: all3() } });
  assert.deepEqual(p, []);
});

void test('apps are independent: one removed app does not touch another', () => {
  const other = mkApp({ a: { image: 'a:1' } });
  const p = plan({ apps: { other }, current: { networks: [net('shop'), net('other')], volumes: [vol('shop', 'data')], containers: [...all3(), ctr('other', other, 'a')] } });
  assert.ok(p.every((line) => !line.includes('other')), p.join('\n'));
  assert.equal(p.filter((l) => l.startsWith('remove shop/')).length, 3);
});

void test('validateApp: references and cycles are refused with the service named', () => {
  const cases: [AppSpec, string | undefined][] = [
    [web3, undefined],
    [mkApp({ a: { image: 'i', dependsOn: { b: 'service_started' } } }), 'a depends on b, which the app does not define'],
    [mkApp({ a: { image: 'i', dependsOn: { a: 'service_started' } } }), 'a depends on itself'],
    [mkApp({ a: { image: 'i', networks: ['n'] } }), 'a joins network n, which the app does not define'],
    [mkApp({ a: { image: 'i', networks: ['default'] } }), undefined],
    [mkApp({ a: { image: 'i', mounts: [{ type: 'volume', source: 'v', target: '/v' }] } }), 'a mounts volume v, which the app does not define'],
    [mkApp({ a: { image: 'i', mounts: [{ type: 'bind', source: '/host', target: '/v' }] } }), undefined],
    [mkApp({ a: { image: 'i', networkMode: 'service:z' } }), 'a depends on z, which the app does not define'],
    [
      mkApp({ a: { image: 'i', dependsOn: { b: 'service_started' } }, b: { image: 'i', dependsOn: { c: 'service_healthy' } }, c: { image: 'i', networkMode: 'service:a' } }),
      'dependency cycle: a -> b -> c -> a',
    ],
  ];
  for (const [app, want] of cases) assert.equal(validateApp(app)?.message, want);
});

void test('startOrder puts dependencies first and is stable by name', () => {
  assert.deepEqual(startOrder(web3), ['db', 'api', 'web']);
  const app = mkApp({ z: { image: 'i' }, b: { image: 'i', dependsOn: { z: 'service_started' } }, a: { image: 'i' } });
  assert.deepEqual(startOrder(app), ['a', 'z', 'b']);
});
