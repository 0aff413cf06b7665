import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ImageBundleRef } from '@pifleet/protocol';
import { BundleDiskFullError, BundleDownloadError, BundleFetcher, EngineError, type BundleFetcherOptions } from '@pifleet/agent';
import { startTestHub, type TestHub } from '@pifleet/hub/testing';
import { dockerArchive, enrollDevice, uploadImage, type TestDevice } from '@pifleet/hub/testing/images';
import { CuttingRelay } from '../support/cutting-relay.js';

/**
 * The agent's bundle download against a real hub, through a relay that cuts connections and
 * flips bytes. The engine here only records what it was asked to load (the archive's sha256);
 * loading into a real engine is bundle-podman.test.ts.
 */

const CHUNK = 64 * 1024;

class RecordingEngine {
  loads: string[] = [];
  images = new Set<string>();
  constructor(private readonly refs: string[]) {}
  async loadImage(archive: NodeJS.ReadableStream): Promise<string[]> {
    const h = createHash('sha256');
    for await (const c of archive as AsyncIterable<Buffer>) h.update(c);
    this.loads.push(h.digest('hex'));
    for (const r of this.refs) this.images.add(r);
    return this.refs;
  }
  async hasImage(ref: string): Promise<boolean> {
    return this.images.has(ref);
  }
}

let t: TestHub;
let relay: CuttingRelay;
let device: TestDevice;
let bundle: ImageBundleRef;
let archiveSha: string;
const dirs: string[] = [];

before(async () => {
  t = await startTestHub({ env: { PIFLEET_IMAGE_CHUNK_BYTES: String(CHUNK) } });
  const admin = await t.login();
  device = await enrollDevice(t, admin);
  const archive = dockerArchive({ refs: ['example/dl:1'], layerBytes: 1024 * 1024 });
  archiveSha = createHash('sha256').update(archive).digest('hex');
  const up = await uploadImage(t, admin, archive);
  assert.equal(up.status, 201, JSON.stringify(up.body));
  bundle = { id: up.body.id, sha256: up.body.sha256, size: up.body.size };
  relay = new CuttingRelay(Number(new URL(t.url).port));
  await relay.start();
});
after(async () => {
  await relay?.close();
  await t?.close();
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function dataDir(): string {
  const d = mkdtempSync(join(tmpdir(), 'pifleet-bundle-'));
  dirs.push(d);
  return d;
}

function fetcher(dir: string, engine: RecordingEngine, extra: Partial<BundleFetcherOptions> = {}): BundleFetcher {
  return new BundleFetcher({ hubUrl: relay.url, deviceId: device.id, password: device.password, dataDir: dir, engine, retryDelayMs: () => 20, ...extra });
}

const chunks = () => Math.ceil(bundle.size / CHUNK);
const leftovers = (dir: string) => readdirSync(join(dir, 'images')).filter((n) => n !== 'loaded.json');

test('connections cut mid-download: it resumes from the last good chunk, refetches less than the whole, verifies and loads', async () => {
  relay.reset();
  // 5.5 chunks per connection, three connections in a row: every cut lands inside a chunk.
  relay.cutAfter(Math.round(5.5 * CHUNK), 3);
  const dir = dataDir();
  const engine = new RecordingEngine(['example/dl:1']);
  const f = fetcher(dir, engine);
  const progress: number[] = [];
  await f.ensure(bundle, (p) => {
    assert.equal(p.total, bundle.size);
    progress.push(p.done);
  });
  assert.equal(relay.cutCount, 3);
  assert.deepEqual(engine.loads, [archiveSha]);
  const refetched = f.bytesFetched - bundle.size;
  assert.ok(refetched > 0, 'the cuts cost something');
  assert.ok(refetched < bundle.size, `refetched ${refetched} of ${bundle.size}`);
  assert.ok(refetched <= 3 * CHUNK, `at most the three cut chunks again, refetched ${refetched}`);
  assert.deepEqual(progress, [...progress].sort((a, b) => a - b));
  assert.equal(progress.at(-1), bundle.size);
  assert.deepEqual(leftovers(dir), [], 'no partial file or progress record left');
  const loaded = JSON.parse(readFileSync(join(dir, 'images', 'loaded.json'), 'utf8'));
  assert.deepEqual(loaded[bundle.id].refs, ['example/dl:1']);
  assert.equal(statSync(join(dir, 'images')).mode & 0o777, 0o700);
  assert.equal(statSync(join(dir, 'images', 'loaded.json')).mode & 0o777, 0o600);

  // Loaded once: the next ensure (a restarted agent too) downloads nothing.
  const before = relay.downstreamBytes;
  await fetcher(dir, engine).ensure(bundle);
  assert.equal(relay.downstreamBytes, before);
  assert.equal(engine.loads.length, 1);
  // Unless the engine lost the image (an image prune): then it is fetched and loaded again.
  engine.images.clear();
  await fetcher(dir, engine).ensure(bundle);
  assert.equal(engine.loads.length, 2);
});

test('an agent restart mid-download keeps the verified chunks and fetches only the rest', async () => {
  relay.reset();
  // The link breaks for good inside chunk 4: every later connection is cut before any byte.
  relay.cutAfter(Math.round(4.5 * CHUNK), 1, 0);
  const dir = dataDir();
  const engine = new RecordingEngine(['example/dl:1']);
  const first = fetcher(dir, engine, { attempts: 2 });
  const err = await first.ensure(bundle).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof BundleDownloadError, String(err));
  assert.equal(err.code, 'image_download_failed');
  assert.equal(err.retryable, true);
  assert.match(err.message, /after 2 attempts/);
  const progress = JSON.parse(readFileSync(join(dir, 'images', `${bundle.id}.progress.json`), 'utf8'));
  assert.ok(progress.good >= 4 && progress.good < chunks(), `good ${progress.good}`);
  assert.equal(statSync(join(dir, 'images', `${bundle.id}.part`)).mode & 0o777, 0o600);
  assert.deepEqual(engine.loads, []);

  relay.reset();
  const second = fetcher(dir, engine); // a new process: only the files carry over
  await second.ensure(bundle);
  assert.equal(second.bytesFetched, bundle.size - progress.good * CHUNK);
  assert.deepEqual(engine.loads, [archiveSha]);
  assert.deepEqual(leftovers(dir), []);
});

test('a corrupted chunk is caught by its sha256 and fetched again; one that stays corrupt fails after bounded attempts', async () => {
  relay.reset();
  relay.corruptBody(3, 1000);
  const dir = dataDir();
  const engine = new RecordingEngine(['example/dl:1']);
  const f = fetcher(dir, engine);
  await f.ensure(bundle);
  assert.equal(relay.corrupted, 1);
  assert.equal(f.bytesFetched, bundle.size + CHUNK, 'exactly the corrupted chunk again');
  assert.deepEqual(engine.loads, [archiveSha]);

  relay.reset();
  relay.corruptBody(1, 10, 100);
  const dir2 = dataDir();
  const engine2 = new RecordingEngine(['example/dl:1']);
  const err = await fetcher(dir2, engine2, { attempts: 3 }).ensure(bundle).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof BundleDownloadError, String(err));
  assert.match(err.message, /chunk 0 of bundle .* after 3 attempts: chunk 0 does not match its sha256/);
  assert.equal(relay.corrupted, 3);
  assert.deepEqual(engine2.loads, []);
});

test('not enough free space: disk_full before anything is downloaded', async () => {
  relay.reset();
  const dir = dataDir();
  // Checked against statfs: a reserve no disk here has makes it fail the same way a full disk does.
  const f = fetcher(dir, new RecordingEngine([]), { reserveBytes: 2 ** 60 });
  const err = await f.ensure(bundle).then(
    () => undefined,
    (e: unknown) => e,
  );
  assert.ok(err instanceof BundleDiskFullError, String(err));
  assert.ok(err instanceof EngineError);
  assert.equal(err.code, 'disk_full');
  assert.match(err.message, /not enough disk space for image bundle/);
  assert.equal(relay.downstreamBytes > 0, true, 'the manifest was read');
  assert.equal(f.bytesFetched, 0);
  assert.deepEqual(leftovers(dir), []);
});

test('the disk fills up while downloading (a 2 MiB tmpfs): disk_full and the partial file removed', async (ctx) => {
  const dir = dataDir();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=2m,mode=0700', 'tmpfs', dir], { stdio: 'pipe' });
  } catch (e) {
    const why = `cannot mount a tmpfs (needs root): ${(e as Error).message.split('\n')[0]}`;
    if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error(`strict mode: ${why}`);
    ctx.skip(why);
    return;
  }
  ctx.after(() => execFileSync('umount', [dir]));
  relay.reset();
  const engine = new RecordingEngine(['example/dl:1']);
  let ballast = false;
  const f = fetcher(dir, engine, { reserveBytes: 0 });
  // Something else on the Pi fills the disk once the download is under way (after the space check).
  const err = await f
    .ensure(bundle, (p) => {
      if (p.done >= 2 * CHUNK && !ballast) {
        ballast = true;
        const free = statfsFree(dir);
        writeFileSync(join(dir, 'ballast'), Buffer.alloc(Math.max(0, free - 8 * 1024)));
      }
    })
    .then(
      () => undefined,
      (e: unknown) => e,
    );
  assert.ok(ballast);
  assert.ok(err instanceof BundleDiskFullError, String(err));
  assert.equal(err.code, 'disk_full');
  assert.match(err.message, /disk filled up while downloading/);
  assert.equal(existsSync(join(dir, 'images', `${bundle.id}.part`)), false);
  assert.equal(existsSync(join(dir, 'images', `${bundle.id}.progress.json`)), false);
  assert.deepEqual(engine.loads, []);

  // With room again it succeeds.
  rmSync(join(dir, 'ballast'));
  await fetcher(dir, engine, { reserveBytes: 0 }).ensure(bundle);
  assert.deepEqual(engine.loads, [archiveSha]);
});

test('wrong credentials and a bundle the hub does not have fail at once, without retries', async () => {
  relay.reset();
  const dir = dataDir();
  const wrong = fetcher(dir, new RecordingEngine([]), { password: 'not-the-password', retryDelayMs: () => 60_000 });
  const e1 = await wrong.ensure(bundle).then(() => undefined, (e: unknown) => e);
  assert.ok(e1 instanceof BundleDownloadError, String(e1));
  assert.equal(e1.retryable, false);
  assert.match(e1.message, /refused this device's credentials/);

  const missing = fetcher(dir, new RecordingEngine([]), { retryDelayMs: () => 60_000 });
  const e2 = await missing.ensure({ ...bundle, id: 'nosuchbundle' }).then(() => undefined, (e: unknown) => e);
  assert.ok(e2 instanceof BundleDownloadError, String(e2));
  assert.match(e2.message, /has no image bundle nosuchbundle/);

  const e3 = await missing.ensure({ ...bundle, id: '../../etc' }).then(() => undefined, (e: unknown) => e);
  assert.ok(e3 instanceof BundleDownloadError, String(e3));
  assert.match(e3.message, /not one the hub gives/);

  // The desired state and the hub disagree about the content: nothing is downloaded.
  const e4 = await missing.ensure({ ...bundle, sha256: 'f'.repeat(64) }).then(() => undefined, (e: unknown) => e);
  assert.ok(e4 instanceof BundleDownloadError, String(e4));
  assert.match(e4.message, /not the one the desired state names/);
  assert.equal(missing.bytesFetched, 0);
});

test('an aborted download stops promptly with the abort reason and keeps what it has', async () => {
  relay.reset();
  const dir = dataDir();
  const ac = new AbortController();
  const f = fetcher(dir, new RecordingEngine([]));
  const err = await f
    .ensure(bundle, (p) => {
      if (p.done >= 3 * CHUNK) ac.abort(new Error('apply superseded'));
    }, ac.signal)
    .then(() => undefined, (e: unknown) => e);
  assert.equal((err as Error).message, 'apply superseded');
  const progress = JSON.parse(readFileSync(join(dir, 'images', `${bundle.id}.progress.json`), 'utf8'));
  assert.ok(progress.good >= 3);
});

function statfsFree(dir: string): number {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
}
