import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { BundleFetcher, DockerEngine } from '@pifleet/agent';
import { usePodman } from '@pifleet/agent/testing/podman';
import { startTestHub, type TestHub } from '@pifleet/hub/testing';
import { enrollDevice, uploadImage } from '@pifleet/hub/testing/images';
import { CuttingRelay } from '../support/cutting-relay.js';

/**
 * The whole path with a real engine: an image saved by Podman (its Docker API's `docker save`),
 * uploaded gzip-compressed to the hub, downloaded by the agent through a connection that is cut
 * once, and loaded into Podman, where it then exists under its name.
 */

const podman = usePodman();
const CHUNK = 128 * 1024;

let t: TestHub;
let relay: CuttingRelay;
const dirs: string[] = [];
before(async () => {
  t = await startTestHub({ env: { PIFLEET_IMAGE_CHUNK_BYTES: String(CHUNK) } });
  relay = new CuttingRelay(Number(new URL(t.url).port));
  await relay.start();
});
after(async () => {
  await relay?.close();
  await t?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** One Docker API call on the engine's socket; the body as bytes. */
function engineApi(socketPath: string, method: string, path: string): Promise<{ status: number; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, timeout: 60_000 }, (res) => {
      const parts: Buffer[] = [];
      res.on('data', (d: Buffer) => parts.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(parts) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

test('a podman-saved image goes through the hub and the agent into the engine, across a cut connection', async (ctx) => {
  const fx = podman.get(ctx);
  if (!fx) return;
  const repo = `localhost/pifleet-test/bundle${randomBytes(4).toString('hex')}`;
  const ref = `${repo}:1`;
  const tag = await engineApi(fx.socketPath, 'POST', `/images/${encodeURIComponent(fx.images.busybox)}/tag?repo=${encodeURIComponent(repo)}&tag=1`);
  assert.ok(tag.status < 300, `tag: ${tag.status} ${tag.body.toString()}`);
  const saved = await engineApi(fx.socketPath, 'GET', `/images/${encodeURIComponent(ref)}/get`);
  assert.equal(saved.status, 200);
  ctx.diagnostic(`docker save archive of busybox: ${saved.body.length} bytes`);
  // Only the new name goes; the image stays under the fixture's name for other tests.
  const untag = await engineApi(fx.socketPath, 'DELETE', `/images/${encodeURIComponent(ref)}?noprune=true`);
  assert.ok(untag.status < 300, `untag: ${untag.status} ${untag.body.toString()}`);
  ctx.after(async () => {
    await engineApi(fx.socketPath, 'DELETE', `/images/${encodeURIComponent(ref)}?noprune=true`).catch(() => undefined);
  });
  const engine = new DockerEngine({ env: fx.env, podmanHealthchecks: false });
  ctx.after(() => engine.close());
  assert.equal(await engine.hasImage(ref), false);

  const admin = await t.login();
  const up = await uploadImage(t, admin, gzipSync(saved.body));
  assert.equal(up.status, 201, JSON.stringify(up.body));
  assert.ok(up.body.refs.includes(ref), `refs ${JSON.stringify(up.body.refs)}`);
  assert.equal(up.body.size, saved.body.length);
  assert.ok(up.body.chunkCount >= 4);

  const device = await enrollDevice(t, admin);
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-bundle-podman-'));
  dirs.push(dir);
  relay.reset();
  relay.cutAfter(Math.round(2.5 * CHUNK), 1);
  const fetcher = new BundleFetcher({ hubUrl: relay.url, deviceId: device.id, password: device.password, dataDir: dir, engine, retryDelayMs: () => 20 });
  await fetcher.ensure({ id: up.body.id, sha256: up.body.sha256, size: up.body.size });
  assert.equal(relay.cutCount, 1);
  assert.ok(fetcher.bytesFetched < 2 * up.body.size);
  assert.equal(await engine.hasImage(ref), true);
});
