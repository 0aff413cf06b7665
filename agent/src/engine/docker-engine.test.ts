import { test } from 'node:test';
import assert from 'node:assert/strict';
import Docker from 'dockerode';
import { ServiceSpecSchema, type ServiceSpecInput } from '@pifleet/protocol';
import { eventually, usePodman } from '../testing/podman.js';
import { DockerEngine } from './docker-engine.js';
import { EngineError, LABELS, containerName } from './engine.js';

// Container lifecycle through the adapter against a real Podman service.

const podman = usePodman();

function spec(image: string, input: Omit<ServiceSpecInput, 'image'> = {}) {
  return ServiceSpecSchema.parse({ image, ...input });
}

void test('create, start, inspect, stop and remove a container with the owner labels', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const engine = new DockerEngine({ env: p.env });
  t.after(() => engine.close());
  await engine.ping();
  const app = p.app();
  await engine.createNetwork(app, 'default', { internal: false, labels: {} });
  const id = await engine.createContainer(app, 'web', spec(p.images.busybox, { command: ['sh', '-c', "trap 'exit 0' TERM; echo started; sleep 600 & wait"], stopGraceMs: 1000 }), 'hash-1', 7);

  const created = await engine.inspectContainer(id);
  assert.ok(created);
  assert.equal(created.name, containerName(app, 'web'));
  assert.deepEqual([created.app, created.service, created.configHash, created.release, created.status], [app, 'web', 'hash-1', 7, 'created']);
  assert.equal(created.startedAt, null);
  assert.equal(created.exitCode, null);

  // The labels as the engine holds them, and the restart policy it must never apply itself.
  const raw = await new Docker({ socketPath: p.socketPath }).getContainer(id).inspect();
  assert.equal(raw.Config.Labels[LABELS.managed], 'true');
  assert.equal(raw.Config.Labels[LABELS.release], '7');
  assert.equal(raw.HostConfig.RestartPolicy?.Name ?? 'no', 'no');

  await engine.startContainer(id);
  const running = await engine.inspectContainer(id);
  assert.equal(running?.status, 'running');
  assert.ok(running.startedAt && running.startedAt > Date.now() - 60_000);
  assert.ok((await engine.listContainers()).some((c) => c.id === id && c.status === 'running'));

  const before = Date.now();
  // The shell exits on SIGTERM at once, well inside the grace.
  await engine.stopContainer(id, 5_000);
  assert.ok(Date.now() - before < 4_000, 'the stop waited for the grace instead of ending on SIGTERM');
  const stopped = await engine.inspectContainer(id);
  assert.equal(stopped?.status, 'exited');
  assert.equal(stopped.exitCode, 0);
  assert.ok(stopped.finishedAt && stopped.finishedAt >= before - 1000);
  // Stopping a stopped container is fine.
  await engine.stopContainer(id, 1_000);

  assert.deepEqual(await engine.logTail(id, 5), ['started']);

  await engine.removeContainer(id);
  assert.equal(await engine.inspectContainer(id), null);
  assert.ok(!(await engine.listContainers()).some((c) => c.id === id));
  // Removing it again is fine too.
  await engine.removeContainer(id);
});

void test('a container pifleet does not own is never listed, inspected, started, stopped or removed', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const docker = new Docker({ socketPath: p.socketPath });
  const engine = new DockerEngine({ env: p.env });
  t.after(() => engine.close());
  // Labelled like an app container but without the managed flag: someone else's.
  const other = await docker.createContainer({
    Image: p.images.busybox,
    Cmd: ['sleep', '600'],
    Labels: { ...p.labels, [LABELS.app]: 'x', [LABELS.service]: 'y' },
    HostConfig: { NetworkMode: 'none' },
  });
  await other.start();
  assert.ok(!(await engine.listContainers()).some((c) => c.id === other.id));
  assert.equal(await engine.inspectContainer(other.id), null);
  for (const op of [() => engine.startContainer(other.id), () => engine.stopContainer(other.id, 1000), () => engine.removeContainer(other.id), () => engine.logTail(other.id, 5)]) {
    await assert.rejects(op(), (e: unknown) => e instanceof EngineError && e.code === 'not_found');
  }
  const still = await other.inspect();
  assert.equal(still.State.Running, true);
});

void test('stop with another signal waits the grace, then kills; the exit code is the signal\'s', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const engine = new DockerEngine({ env: p.env });
  t.after(() => engine.close());
  const app = p.app();
  // Ignores TERM and USR1 so only the SIGKILL after the grace ends it.
  const id = await engine.createContainer(app, 'stubborn', spec(p.images.busybox, { command: ['sh', '-c', "trap '' TERM USR1; echo ready; while :; do sleep 1; done"], networkMode: 'none' }), 'h', 1);
  await engine.startContainer(id);
  const t0 = Date.now();
  await engine.stopContainer(id, 1_500, 'SIGUSR1');
  const took = Date.now() - t0;
  const c = await engine.inspectContainer(id);
  assert.equal(c?.status, 'exited');
  assert.equal(c.exitCode, 137);
  assert.ok(took >= 1_400, `stopped after ${took} ms, before the grace was over`);
});

void test('a second container with the same name is a conflict; a missing image is image_missing', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const engine = new DockerEngine({ env: p.env });
  t.after(() => engine.close());
  const app = p.app();
  await engine.createContainer(app, 'one', spec(p.images.busybox, { networkMode: 'none' }), 'h', 1);
  await assert.rejects(engine.createContainer(app, 'one', spec(p.images.busybox, { networkMode: 'none' }), 'h', 1), (e: unknown) => e instanceof EngineError && e.code === 'conflict');
  await assert.rejects(
    engine.createContainer(app, 'two', spec('localhost/pifleet-test/absent:nope', { networkMode: 'none' }), 'h', 1),
    (e: unknown) => e instanceof EngineError && e.code === 'image_missing',
  );
});

void test('user, working dir, init and a dropped capability reach the container', async (t) => {
  const p = podman.get(t);
  if (!p) return;
  const engine = new DockerEngine({ env: p.env });
  t.after(() => engine.close());
  const id = await engine.createContainer(
    p.app(),
    'who',
    // CapEff as hex: CAP_CHOWN (bit 0) is dropped, so the lowest hex digit is even.
    spec(p.images.busybox, { command: ['sh', '-c', 'id -u; pwd; cat /proc/1/comm; grep CapBnd /proc/self/status | cut -f2'], user: '65534', workingDir: '/tmp', init: true, capDrop: ['CHOWN'], networkMode: 'none' }),
    'h',
    1,
  );
  await engine.startContainer(id);
  await eventually('the container to exit', async () => ((await engine.inspectContainer(id))?.status === 'exited' ? true : undefined));
  const [uid, cwd, init, capBnd] = await engine.logTail(id, 10);
  assert.equal(uid, '65534');
  assert.equal(cwd, '/tmp');
  assert.match(init ?? '', /^(catatonit|docker-init|podman-init|tini)$/, 'PID 1 is the init process');
  assert.equal(parseInt(capBnd ?? '1', 16) & 1, 0, `CAP_CHOWN still in the bounding set: ${capBnd}`);
});
