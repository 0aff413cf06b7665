import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceSpecSchema } from '@pifleet/protocol';
import { ensureTestImages } from '../testing/podman-images.js';
import { eventually, startPodmanService, usePodman } from '../testing/podman.js';
import { DockerEngine } from './docker-engine.js';
import { EngineError, type EngineEvent } from './engine.js';

// The engine going away and coming back: errors while it is gone, and the watch's onDown/onUp.

const podman = usePodman();

const isDown = (e: unknown): boolean => e instanceof EngineError && e.code === 'engine_down';

void test('no socket at the address: every call is engine_down', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-nosock-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const engine = new DockerEngine({ env: { DOCKER_HOST: `unix://${join(dir, 'docker.sock')}` } });
  await assert.rejects(engine.ping(), isDown);
  await assert.rejects(engine.listContainers(), isDown);
  await assert.rejects(engine.hasImage('x'), isDown);
  await assert.rejects(engine.pullImage('x'), isDown);
  const tcp = new DockerEngine({ env: { DOCKER_HOST: 'tcp://127.0.0.1:1' } });
  await assert.rejects(tcp.ping(), isDown);
});

void test('the service stops and starts again: calls fail as engine_down meanwhile; the watch calls onDown, then onUp, then sees events again', async (t) => {
  if (!podman.get(t)) return;
  // A service of its own: this test stops it, which must not hit the run's shared one.
  const svc = await startPodmanService();
  const engine = new DockerEngine({ env: { DOCKER_HOST: svc.dockerHost } });
  const ac = new AbortController();
  t.after(async () => {
    ac.abort();
    engine.close();
    await svc.stop();
  });
  const images = await ensureTestImages(svc.socketPath);
  const events: EngineEvent[] = [];
  const log: string[] = [];
  engine.watch({ onEvent: (e) => events.push(e), onDown: (err) => log.push(`down:${(err as EngineError).code ?? err.message}`), onUp: () => log.push('up') }, ac.signal);
  await eventually('the first onUp', async () => (log.includes('up') ? true : undefined));

  const spec = ServiceSpecSchema.parse({ image: images.busybox, command: ['sleep', '600'], networkMode: 'none', stopGraceMs: 1000 });
  const first = await engine.createContainer('down', 'a', spec, 'h', 1);
  await engine.startContainer(first);
  await eventually('the first start event', async () => events.find((e) => e.kind === 'start' && e.containerId === first));

  await svc.kill();
  await eventually('onDown', async () => (log.some((l) => l.startsWith('down')) ? true : undefined));
  await assert.rejects(engine.ping(), isDown);
  await assert.rejects(engine.listContainers(), isDown);
  await assert.rejects(engine.startContainer(first), isDown);

  await svc.start();
  await eventually('onUp after the restart', async () => (log.filter((l) => l === 'up').length >= 2 ? true : undefined), 20_000);
  // One onDown per outage, however many reconnects failed in between.
  assert.deepEqual(log, ['up', 'down:engine_down', 'up']);
  await engine.ping();
  // The container outlived the service (conmon keeps it), and the watch sees new events.
  assert.equal((await engine.inspectContainer(first))?.status, 'running');
  const second = await engine.createContainer('down', 'b', spec, 'h', 1);
  await engine.startContainer(second);
  await eventually('a start event after the restart', async () => events.find((e) => e.kind === 'start' && e.containerId === second));

  // Aborting ends the watch: no reconnect, no more callbacks.
  ac.abort();
  await svc.kill();
  await new Promise((r) => setTimeout(r, 300));
  assert.deepEqual(log, ['up', 'down:engine_down', 'up']);
  await svc.start();
});
