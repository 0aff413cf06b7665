import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { eq } from 'drizzle-orm';
import { DomainEvents } from '../common/domain-events.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { deviceDesired } from '../db/schema.js';
import { startTestHub, type Loose, type TestHub } from '../http/test-hub.js';
import { dockerArchive, ociArchive, tar } from './archive-fixture.js';
import { basicAuth, deviceGet, enrollDevice, uploadImage } from './images-test-support.js';

/** Small pieces, so a 200 KiB archive is several chunks and the last one is short. */
const CHUNK = 64 * 1024;
const MAX = 1024 * 1024;

let t: TestHub;
let admin: string;
let operator: string;
let viewer: string;
before(async () => {
  t = await startTestHub({ env: { PIFLEET_IMAGE_CHUNK_BYTES: String(CHUNK), PIFLEET_IMAGE_MAX_BYTES: String(MAX) } });
  admin = await t.login();
  operator = await t.userToken('operator', admin);
  viewer = await t.userToken('viewer', admin);
});
after(async () => {
  await t?.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const imagesDir = () => join(t.dataDir, 'images');
const incoming = () => readdirSync(join(imagesDir(), 'incoming'));

test('an operator uploads a docker-archive: stored as sent, chunk hashes, refs from manifest.json, files private', async () => {
  const archive = dockerArchive({ refs: ['example/web:1.0', 'example/web:latest'], layerBytes: 200 * 1024 });
  const r = await uploadImage(t, operator, archive);
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.refs, ['example/web:1.0', 'example/web:latest']);
  assert.equal(r.body.sha256, sha(archive));
  assert.equal(r.body.size, archive.length);
  assert.equal(r.body.chunkSize, CHUNK);
  assert.equal(r.body.chunkCount, Math.ceil(archive.length / CHUNK));
  assert.ok(r.body.chunkCount >= 4);
  assert.ok(r.body.uploadedBy);

  const file = join(imagesDir(), `${r.body.id}.tar`);
  assert.equal(statSync(file).mode & 0o777, 0o600);
  assert.equal(statSync(imagesDir()).mode & 0o777, 0o700);
  assert.equal(statSync(join(imagesDir(), 'incoming')).mode & 0o777, 0o700);
  assert.deepEqual(incoming(), []);

  // The same archive again is the same bundle, not a second copy.
  const again = await uploadImage(t, operator, archive);
  assert.equal(again.status, 200);
  assert.equal(again.body.id, r.body.id);
  assert.equal(readdirSync(imagesDir()).filter((n) => n.endsWith('.tar')).length >= 1, true);

  const list = await t.api('GET', '/api/images', { token: viewer });
  assert.equal(list.status, 200);
  assert.equal(list.body.filter((b: { id: string }) => b.id === r.body.id).length, 1);
});

test('a gzip-compressed archive is stored uncompressed; a device downloads it chunk by chunk and each chunk matches', async () => {
  const archive = dockerArchive({ refs: ['example/gz:2'], layerBytes: 150 * 1024 });
  const r = await uploadImage(t, operator, gzipSync(archive));
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.equal(r.body.size, archive.length);
  assert.equal(r.body.sha256, sha(archive));

  const dev = await enrollDevice(t, admin);
  const auth = basicAuth(dev.id, dev.password);
  const m = await deviceGet(t, `/api/images/${r.body.id}/manifest`, auth);
  assert.equal(m.status, 200);
  const manifest = JSON.parse(m.bytes.toString());
  assert.deepEqual(Object.keys(manifest).sort(), ['chunkSize', 'chunks', 'id', 'refs', 'sha256', 'size']);
  assert.equal(manifest.chunks.length, r.body.chunkCount);

  const pieces: Buffer[] = [];
  for (let n = 0; n < manifest.chunks.length; n++) {
    const c = await deviceGet(t, `/api/images/${r.body.id}/chunks/${n}`, auth);
    assert.equal(c.status, 200);
    assert.equal(c.headers.get('content-type'), 'application/octet-stream');
    assert.equal(Number(c.headers.get('content-length')), c.bytes.length);
    assert.equal(c.headers.get('etag'), `"${manifest.chunks[n]}"`);
    assert.equal(sha(c.bytes), manifest.chunks[n]);
    assert.equal(c.bytes.length, n < manifest.chunks.length - 1 ? CHUNK : archive.length - n * CHUNK);
    pieces.push(c.bytes);
  }
  assert.ok(Buffer.concat(pieces).equals(archive));

  // A chunk the device already has is not sent again.
  const cached = await deviceGet(t, `/api/images/${r.body.id}/chunks/0`, auth, { 'if-none-match': `"${manifest.chunks[0]}"` });
  assert.equal(cached.status, 304);
  assert.equal(cached.bytes.length, 0);

  for (const bad of [String(manifest.chunks.length), '-1', '1.5', 'x', '99999999999']) {
    const c = await deviceGet(t, `/api/images/${r.body.id}/chunks/${bad}`, auth);
    assert.equal(c.status, 404, `chunk ${bad}`);
  }
  assert.equal((await deviceGet(t, '/api/images/nosuchbundle/manifest', auth)).status, 404);
});

test('an OCI archive is accepted with the ref from index.json', async () => {
  const r = await uploadImage(t, operator, ociArchive('localhost/example/oci:3'), { 'content-type': 'application/x-tar' });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  assert.deepEqual(r.body.refs, ['localhost/example/oci:3']);
});

test('what is not an image archive is 400 invalid_image with a reason, and leaves nothing behind', async () => {
  const cases: [string, Buffer, RegExp][] = [
    ['random bytes', randomBytes(4096), /not a tar archive/],
    ['empty body', Buffer.alloc(0), /empty/],
    ['short', Buffer.from('hello'), /not a tar archive/],
    ['tar without manifest', tar([{ name: 'hello.txt', data: Buffer.from('hi') }]), /neither manifest\.json.*nor index\.json/],
    ['manifest naming a missing layer', dockerArchive({ dropLayer: true }), /not in the archive/],
    ['untagged image', dockerArchive({ refs: [] }), /names no image/],
    ['manifest not JSON', tar([{ name: 'manifest.json', data: Buffer.from('{oops') }]), /not valid JSON/],
    ['manifest of the wrong shape', tar([{ name: 'manifest.json', data: Buffer.from('{"a":1}') }]), /not a `docker save` manifest/],
    ['bad ref', dockerArchive({ refs: ['bad ref with spaces'] }), /not valid/],
    ['gzip of garbage', gzipSync(randomBytes(2048)), /not a tar archive inside the gzip stream/],
    ['truncated gzip', gzipSync(dockerArchive()).subarray(0, 30_000), /does not decompress/],
    ['truncated tar', dockerArchive().subarray(0, 40_000), /truncated/],
    ['zstd', Buffer.concat([Buffer.from([0x28, 0xb5, 0x2f, 0xfd]), randomBytes(100)]), /zstd/],
  ];
  for (const [what, body, message] of cases) {
    const r = await uploadImage(t, operator, body);
    assert.equal(r.status, 400, `${what}: ${JSON.stringify(r.body)}`);
    assert.equal(r.body.code, 'invalid_image', what);
    assert.match(r.body.message, message, what);
  }
  const json = await uploadImage(t, operator, Buffer.from('{"a":1}'), { 'content-type': 'application/json' });
  assert.equal(json.status, 400);
  assert.match(json.body.message, /application\/octet-stream/);
  assert.deepEqual(incoming(), []);
});

test('past PIFLEET_IMAGE_MAX_BYTES: 413, whether declared, streamed without a length, or a gzip that expands past it', async () => {
  const big = dockerArchive({ layerBytes: MAX + 1024 });
  const declared = await uploadImage(t, operator, big);
  assert.equal(declared.status, 413);
  assert.equal(declared.body.code, 'payload_too_large');

  // No Content-Length: the hub finds out while streaming, and the client still reads the answer.
  const stream = new ReadableStream<Uint8Array>({
    start(c) {
      for (let off = 0; off < big.length; off += 64 * 1024) c.enqueue(big.subarray(off, off + 64 * 1024));
      c.close();
    },
  });
  const streamed = await uploadImage(t, operator, stream);
  assert.equal(streamed.status, 413);
  assert.equal(streamed.body.code, 'payload_too_large');

  // 8 MiB of zeros in a layer compress to a few KiB: the limit is on what is stored.
  const bomb = gzipSync(tar([{ name: 'layer.tar', data: Buffer.alloc(8 * MAX) }]));
  assert.ok(bomb.length < MAX / 10);
  const expanded = await uploadImage(t, operator, bomb);
  assert.equal(expanded.status, 413);
  assert.match(expanded.body.message, /uncompressed/);
  assert.deepEqual(incoming(), []);

  // The hub is still fine afterwards.
  assert.equal((await t.api('GET', '/api/images', { token: viewer })).status, 200);
});

test('downloads need device credentials: wrong, unknown, user tokens and revoked devices are 401', async () => {
  const up = await uploadImage(t, operator, dockerArchive({ refs: ['example/auth:1'] }));
  assert.equal(up.status, 201);
  const dev = await enrollDevice(t, admin);
  const manifest = `/api/images/${up.body.id}/manifest`;
  const chunk = `/api/images/${up.body.id}/chunks/0`;
  assert.equal((await deviceGet(t, manifest, basicAuth(dev.id, dev.password))).status, 200);
  for (const [what, auth] of [
    ['no credentials', undefined],
    ['wrong password', basicAuth(dev.id, `${dev.password}x`)],
    ['unknown device', basicAuth('nosuchdevice', dev.password)],
    ['operator token', `Bearer ${operator}`],
    ['not basic', 'Basic %%%'],
    ['no colon', `Basic ${Buffer.from(dev.id).toString('base64')}`],
  ] as const) {
    for (const path of [manifest, chunk]) {
      const r = await deviceGet(t, path, auth);
      assert.equal(r.status, 401, `${what} ${path}`);
      assert.equal(JSON.parse(r.bytes.toString()).code, 'unauthenticated');
    }
  }
  assert.equal((await t.api('POST', `/api/devices/${dev.id}/revoke`, { token: admin })).status, 200);
  assert.equal((await deviceGet(t, manifest, basicAuth(dev.id, dev.password))).status, 401);
  assert.equal((await deviceGet(t, chunk, basicAuth(dev.id, dev.password))).status, 401);
});

test('roles: a viewer lists but cannot upload or remove; no token is 401', async () => {
  const archive = dockerArchive({ refs: ['example/roles:1'] });
  const denied = await uploadImage(t, viewer, archive);
  assert.equal(denied.status, 403);
  assert.equal(denied.body.code, 'forbidden');
  assert.equal((await t.api('GET', '/api/images')).status, 401);
  assert.equal((await uploadImage(t, '', archive)).status, 401);
  const up = await uploadImage(t, operator, archive);
  assert.equal(up.status, 201);
  assert.equal((await t.api('DELETE', `/api/images/${up.body.id}`, { token: viewer })).status, 403);
  assert.equal((await t.api('GET', '/api/images', { token: viewer })).status, 200);
});

test('removing: 409 while a release gives the bundle to a device, removed once the app is gone; events and audit rows for both', async () => {
  const events: { bundleId: string; change: string }[] = [];
  const off = t.hub.app.get(DomainEvents).on('images.changed', (e) => events.push({ bundleId: e.bundleId, change: e.change }));
  try {
    const up = await uploadImage(t, operator, dockerArchive({ refs: ['example/rm:1'] }));
    assert.equal(up.status, 201);
    const id: string = up.body.id;
    assert.deepEqual(events, [{ bundleId: id, change: 'stored' }]);
    const dev = await enrollDevice(t, admin, 'rm-device');
    // The apps module resolves the compose file's image to the bundle that holds it.
    const applied = await t.api('POST', '/api/apps/apply', { token: operator, body: { fleet: 'default', compose: 'name: rmapp\nservices:\n  app:\n    image: example/rm:1\n' } });
    assert.equal(applied.status, 200, JSON.stringify(applied.body));
    const db = t.hub.app.get<Db>(DB);
    const [row] = await db.select({ state: deviceDesired.state }).from(deviceDesired).where(eq(deviceDesired.deviceId, dev.id));
    assert.equal((row?.state as Loose).apps.rmapp.services.app.bundle.id, id);

    const refused = await t.api('DELETE', `/api/images/${id}`, { token: operator });
    assert.equal(refused.status, 409);
    assert.equal(refused.body.code, 'conflict');
    assert.match(refused.body.message, /rm-device/);
    assert.ok(statSync(join(imagesDir(), `${id}.tar`)).isFile());

    assert.equal((await t.api('DELETE', '/api/apps/default/rmapp', { token: operator })).status, 200);
    const removed = await t.api('DELETE', `/api/images/${id}`, { token: operator });
    assert.equal(removed.status, 200, JSON.stringify(removed.body));
    assert.equal(removed.body.id, id);
    assert.deepEqual(events.at(-1), { bundleId: id, change: 'removed' });
    assert.throws(() => statSync(join(imagesDir(), `${id}.tar`)), /ENOENT/);
    assert.equal((await deviceGet(t, `/api/images/${id}/manifest`, basicAuth(dev.id, dev.password))).status, 404);
    assert.equal((await t.api('DELETE', `/api/images/${id}`, { token: operator })).status, 404);

    const audit = await t.api('GET', `/api/audit?target=${id}`, { token: admin });
    assert.equal(audit.status, 200);
    const actions = audit.body.map((e: { action: string; result: string }) => `${e.action}:${e.result}`).sort();
    assert.deepEqual(actions, ['image.remove:error', 'image.remove:ok', 'image.upload:ok']);
    const byOperator = await t.api('GET', '/api/audit?actor=operator1', { token: admin });
    assert.ok(byOperator.body.some((e: { action: string; result: string; detail: { code?: string } }) => e.action === 'image.upload' && e.result === 'error' && e.detail.code === 'invalid_image'));
  } finally {
    off();
  }
});
