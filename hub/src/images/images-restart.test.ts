import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startTestHub } from '../http/test-hub.js';
import { dockerArchive } from './archive-fixture.js';
import { uploadImage } from './images-test-support.js';

test('a restart removes what a crash left (partial uploads, files without a row) and keeps the stored bundles', async (ctx) => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pifleet-img-restart-'));
  ctx.after(() => rmSync(dataDir, { recursive: true, force: true }));
  const env = { PIFLEET_DATA_DIR: dataDir };
  const first = await startTestHub({ env });
  let id: string;
  try {
    const up = await uploadImage(first, await first.login(), dockerArchive({ refs: ['example/keep:1'] }));
    assert.equal(up.status, 201, JSON.stringify(up.body));
    id = up.body.id;
  } finally {
    await first.close();
  }
  const images = join(dataDir, 'images');
  writeFileSync(join(images, 'incoming', 'cutoff.part'), 'half an upload');
  writeFileSync(join(images, 'orphan00000.tar'), 'stored, never recorded');

  const second = await startTestHub({ env });
  try {
    assert.deepEqual(readdirSync(join(images, 'incoming')), []);
    assert.equal(existsSync(join(images, 'orphan00000.tar')), false);
    assert.equal(existsSync(join(images, `${id}.tar`)), true);
    const list = await second.api('GET', '/api/images', { token: await second.login() });
    assert.deepEqual(list.body.map((b: { id: string }) => b.id), [id]);
  } finally {
    await second.close();
  }
});
