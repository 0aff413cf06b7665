import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceSpecSchema, type ServiceSpecInput } from '@pifleet/protocol';
import { freePort } from '../testing/free-port.js';
import { eventually, usePodman } from '../testing/podman.js';
import { DockerEngine } from './docker-engine.js';
import { EngineError, type Engine } from './engine.js';

// Environment, ports, volumes, binds, tmpfs and app networks through the adapter on real Podman.

const podman = usePodman();

const spec = (image: string, input: Omit<ServiceSpecInput, 'image'>) => ServiceSpecSchema.parse({ image, stopGraceMs: 1000, ...input });

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`HTTP ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/** The engine on Podman for test `t`, closed when it ends; undefined when the test is skipped. */
function engineFor(t: TestContext) {
  const p = podman.get(t);
  if (!p) return undefined;
  const engine = new DockerEngine({ env: p.env });
  t.after(() => engine.close());
  return { p, engine };
}

/** A host directory for binds, removed when the test ends. */
function hostDir(t: TestContext): string {
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-bind-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function removeAppContainers(engine: Engine, app: string): Promise<void> {
  for (const c of await engine.listContainers()) if (c.app === app) await engine.removeContainer(c.id);
}

/** A container command that fetches `url` until it answers (up to about 10 s), printing the body. */
const getUntilAnswered = (url: string): string[] => ['sh', '-c', `for i in $(seq 1 50); do wget -q -O- ${url} && exit 0; sleep 0.2; done; exit 1`];

/** Runs a one-shot service to its end; returns its exit code and log. */
async function runToEnd(engine: Engine, app: string, service: string, s: ReturnType<typeof spec>): Promise<{ exitCode: number | null; log: string[] }> {
  const id = await engine.createContainer(app, service, s, 'h', 1);
  await engine.startContainer(id);
  const c = await eventually(`${service} to exit`, async () => {
    const c = await engine.inspectContainer(id);
    return c?.status === 'exited' ? c : undefined;
  });
  return { exitCode: c.exitCode, log: await engine.logTail(id, 50) };
}

void test('environment, a named volume shared by two runs, a read-only bind and a tmpfs', async (t) => {
  const ctx = engineFor(t);
  if (!ctx) return;
  const { p, engine } = ctx;
  const app = p.app();
  const host = hostDir(t);
  writeFileSync(join(host, 'conf.txt'), 'from the host\n');
  await engine.createVolume(app, 'data', p.labels);
  assert.ok((await engine.listVolumes()).some((v) => v.name === `pifleet_${app}_data` && v.app === app));
  // Creating it again is fine (Docker returns it, Podman says 409).
  await engine.createVolume(app, 'data', p.labels);

  const writer = await runToEnd(
    engine,
    app,
    'writer',
    spec(p.images.busybox, {
      command: ['sh', '-c', 'echo "$GREETING|$EMPTY|"; echo kept > /data/file; cat /conf/conf.txt; touch /conf/x 2>/dev/null || echo read-only; grep " /scratch " /proc/mounts | cut -d" " -f3'],
      environment: { GREETING: 'hello world', EMPTY: '' },
      mounts: [
        { type: 'volume', source: 'data', target: '/data' },
        { type: 'bind', source: host, target: '/conf', readOnly: true },
      ],
      tmpfs: ['/scratch:size=1m'],
      networkMode: 'none',
    }),
  );
  assert.equal(writer.exitCode, 0, writer.log.join('\n'));
  assert.deepEqual(writer.log, ['hello world||', 'from the host', 'read-only', 'tmpfs']);

  const reader = await runToEnd(engine, app, 'reader', spec(p.images.busybox, { command: ['cat', '/data/file'], mounts: [{ type: 'volume', source: 'data', target: '/data' }], networkMode: 'none' }));
  assert.deepEqual(reader.log, ['kept']);

  // A volume in use cannot go; once its containers are gone it can, and removing it twice is fine.
  await assert.rejects(engine.removeVolume(`pifleet_${app}_data`), (e: unknown) => e instanceof EngineError && e.code === 'conflict');
  await removeAppContainers(engine, app);
  await engine.removeVolume(`pifleet_${app}_data`);
  await engine.removeVolume(`pifleet_${app}_data`);
  assert.ok(!(await engine.listVolumes()).some((v) => v.name === `pifleet_${app}_data`));
});

void test('a writable bind: what the container writes is on the host', async (t) => {
  const ctx = engineFor(t);
  if (!ctx) return;
  const { p, engine } = ctx;
  const host = hostDir(t);
  const r = await runToEnd(engine, p.app(), 'w', spec(p.images.busybox, { command: ['sh', '-c', 'echo out > /out/f'], mounts: [{ type: 'bind', source: host, target: '/out' }], networkMode: 'none' }));
  assert.equal(r.exitCode, 0);
  assert.equal(readFileSync(join(host, 'f'), 'utf8'), 'out\n');
});

void test('two services on an app network reach each other by service name; a published port answers on loopback', async (t) => {
  const ctx = engineFor(t);
  if (!ctx) return;
  const { p, engine } = ctx;
  const app = p.app();
  await engine.createNetwork(app, 'default', { internal: false, labels: p.labels });
  await engine.createNetwork(app, 'back', { internal: false, labels: p.labels });
  // Again: fine, it is ours.
  await engine.createNetwork(app, 'back', { internal: false, labels: p.labels });
  const nets = (await engine.listNetworks()).filter((n) => n.app === app).map((n) => n.name);
  assert.deepEqual(nets.sort(), [`pifleet_${app}_back`, `pifleet_${app}_default`]);

  const port = await freePort();
  const db = await engine.createContainer(
    app,
    'db',
    spec(p.images.busybox, {
      command: ['sh', '-c', 'mkdir -p /www && echo pong > /www/index.html && exec httpd -f -p 8080 -h /www'],
      // On both: `default` at create, `back` connected before start.
      networks: ['default', 'back'],
      ports: [{ target: 8080, published: port, hostIp: '127.0.0.1' }],
    }),
    'h',
    1,
  );
  await engine.startContainer(db);
  assert.equal(await eventually('the published port', () => fetchText(`http://127.0.0.1:${port}/`)), 'pong\n');

  // Only on `back`: reaches db by its service name through the second network.
  const probe = await runToEnd(
    engine,
    app,
    'probe',
    spec(p.images.busybox, { command: getUntilAnswered('http://db:8080/'), networks: ['back'] }),
  );
  assert.equal(probe.exitCode, 0, probe.log.join('\n'));
  assert.deepEqual(probe.log, ['pong']);

  // A network with containers on it cannot go.
  await assert.rejects(engine.removeNetwork(`pifleet_${app}_back`), (e: unknown) => e instanceof EngineError && e.code === 'conflict');
  await removeAppContainers(engine, app);
  await engine.removeNetwork(`pifleet_${app}_back`);
  await engine.removeNetwork(`pifleet_${app}_back`);
  assert.ok(!(await engine.listNetworks()).some((n) => n.name === `pifleet_${app}_back`));
});

void test('a published port already taken on the host is port_conflict at start', async (t) => {
  const ctx = engineFor(t);
  if (!ctx) return;
  const { p, engine } = ctx;
  const app = p.app();
  await engine.createNetwork(app, 'default', { internal: false, labels: p.labels });
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', () => r()));
  t.after(() => busy.close());
  const { port } = busy.address() as AddressInfo;
  const id = await engine.createContainer(app, 'web', spec(p.images.busybox, { command: ['sleep', '60'], ports: [{ target: 80, published: port, hostIp: '127.0.0.1' }] }), 'h', 1);
  await assert.rejects(engine.startContainer(id), (e: unknown) => e instanceof EngineError && e.code === 'port_conflict');
});

void test('service:<name> shares that service container network namespace', async (t) => {
  const ctx = engineFor(t);
  if (!ctx) return;
  const { p, engine } = ctx;
  const app = p.app();
  await engine.createNetwork(app, 'default', { internal: false, labels: p.labels });
  const server = await engine.createContainer(app, 'server', spec(p.images.busybox, { command: ['sh', '-c', 'mkdir -p /w && echo local > /w/index.html && exec httpd -f -p 9090 -h /w'] }), 'h', 1);
  await engine.startContainer(server);
  const side = await runToEnd(
    engine,
    app,
    'side',
    spec(p.images.busybox, { command: getUntilAnswered('http://127.0.0.1:9090/'), networkMode: 'service:server' }),
  );
  assert.equal(side.exitCode, 0, side.log.join('\n'));
  assert.deepEqual(side.log, ['local']);
});
