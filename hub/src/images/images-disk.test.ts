import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { dockerArchive } from './archive-fixture.js';
import { uploadImage } from './images-test-support.js';

/**
 * The hub's image store on a full disk: a 1 MiB tmpfs mounted where the bundles go (needs root
 * to mount; skipped otherwise, failed under PIFLEET_TEST_STRICT=1).
 */

let t: TestHub | undefined;
let dataDir: string;
let mounted = false;
let whyNot = '';

before(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'pifleet-img-disk-'));
  mkdirSync(join(dataDir, 'images'), { mode: 0o700 });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m,mode=0700', 'tmpfs', join(dataDir, 'images')], { stdio: 'pipe' });
    mounted = true;
  } catch (e) {
    whyNot = `cannot mount a tmpfs here (needs root): ${(e as Error).message.split('\n')[0]}`;
    return;
  }
  t = await startTestHub({ env: { PIFLEET_DATA_DIR: dataDir, PIFLEET_IMAGE_MAX_BYTES: String(16 * 1024 * 1024) } });
});
after(async () => {
  await t?.close();
  if (mounted) execFileSync('umount', [join(dataDir, 'images')]);
  rmSync(dataDir, { recursive: true, force: true });
});

function hub(ctx: { skip(m: string): void }): TestHub | undefined {
  if (t) return t;
  if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error(`strict mode: ${whyNot}`);
  ctx.skip(whyNot);
  return undefined;
}

test('a full disk is 507 disk_full, declared up front or found while writing, and leaves no partial file', async (ctx) => {
  const h = hub(ctx);
  if (!h) return;
  const token = await h.login();
  const big = dockerArchive({ layerBytes: 2 * 1024 * 1024 });

  const declared = await uploadImage(h, token, big);
  assert.equal(declared.status, 507, JSON.stringify(declared.body));
  assert.equal(declared.body.code, 'disk_full');

  // Without a length the hub only learns it when a write fails.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let off = 0; off < big.length; off += 64 * 1024) c.enqueue(big.subarray(off, off + 64 * 1024));
      c.close();
    },
  });
  const streamed = await uploadImage(h, token, stream);
  assert.equal(streamed.status, 507, JSON.stringify(streamed.body));
  assert.equal(streamed.body.code, 'disk_full');
  assert.match(streamed.body.message, /full/);
  assert.deepEqual(readdirSync(join(dataDir, 'images', 'incoming')), []);

  // The space the refused upload took is free again: a small bundle fits.
  const small = await uploadImage(h, token, dockerArchive({ layerBytes: 100 * 1024 }));
  assert.equal(small.status, 201, JSON.stringify(small.body));
});
