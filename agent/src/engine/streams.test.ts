import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EngineAddressError, findEngine } from './discovery.js';
import { PullTracker, loadedRefs, streamError } from './image-progress.js';
import { jsonLines } from './json-lines.js';
import { tailOf } from './log-tail.js';
import { withTag } from './docker-engine.js';

// The pure parts of the adapter: engine discovery and the readers of the engine's streams.

void test('findEngine: DOCKER_HOST unix:// and tcp:// as the docker CLI reads it, else the default socket', () => {
  assert.deepEqual(findEngine({}), { kind: 'unix', socketPath: '/var/run/docker.sock' });
  assert.deepEqual(findEngine({ DOCKER_HOST: '' }), { kind: 'unix', socketPath: '/var/run/docker.sock' });
  assert.deepEqual(findEngine({ DOCKER_HOST: 'unix:///run/podman/podman.sock' }), { kind: 'unix', socketPath: '/run/podman/podman.sock' });
  assert.deepEqual(findEngine({ DOCKER_HOST: 'tcp://10.0.0.5:2375' }), { kind: 'tcp', host: '10.0.0.5', port: 2375 });
  assert.deepEqual(findEngine({ DOCKER_HOST: 'tcp://engine' }), { kind: 'tcp', host: 'engine', port: 2375 });
  assert.deepEqual(findEngine({ DOCKER_HOST: 'tcp://[::1]:2375' }), { kind: 'tcp', host: '::1', port: 2375 });
  for (const bad of ['ssh://pi@host', 'unix://relative.sock', 'npipe:////./pipe/docker_engine', '/var/run/docker.sock']) {
    assert.throws(() => findEngine({ DOCKER_HOST: bad }), EngineAddressError, bad);
  }
});

void test('findEngine: TLS from DOCKER_TLS_VERIFY and DOCKER_CERT_PATH, 2376 by default; unreadable certs are a clear error', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-certs-'));
  for (const f of ['ca.pem', 'cert.pem', 'key.pem']) writeFileSync(join(dir, f), f);
  const a = findEngine({ DOCKER_HOST: 'tcp://engine', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: dir });
  assert.equal(a.kind, 'tcp');
  assert.equal(a.kind === 'tcp' && a.port, 2376);
  assert.equal(a.kind === 'tcp' && a.tls?.key.toString(), 'key.pem');
  assert.throws(() => findEngine({ DOCKER_HOST: 'tcp://engine', DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: join(dir, 'none') }), /certificates/);
});

void test('withTag: a bare name pulls :latest, never every tag', () => {
  assert.equal(withTag('nginx'), 'nginx:latest');
  assert.equal(withTag('nginx:1.27'), 'nginx:1.27');
  assert.equal(withTag('127.0.0.1:5000/app'), '127.0.0.1:5000/app:latest');
  assert.equal(withTag('127.0.0.1:5000/app:v2'), '127.0.0.1:5000/app:v2');
  assert.equal(withTag('app@sha256:abc'), 'app@sha256:abc');
});

void test('jsonLines: objects split across chunks, bad lines skipped, an over-long line dropped to its end', async () => {
  const chunks = ['{"a":1}\n{"b"', ':2}\r\nnot json\n[1,2]\n', `{"long":"${'x'.repeat(100)}`, 'y"}\n{"c":3}'];
  const got: unknown[] = [];
  for await (const o of jsonLines(Readable.from(chunks.map((c) => Buffer.from(c))), 64)) got.push(o);
  assert.deepEqual(got, [{ a: 1 }, { b: 2 }, { c: 3 }]);
});

void test('PullTracker sums layer bytes when sizes are reported: total grows as layers start, done reaches total', () => {
  const t = new PullTracker();
  assert.deepEqual(t.update({ status: 'Pulling fs layer', id: 'l1' }), { done: 0, total: 1 });
  assert.deepEqual(t.update({ status: 'Downloading', id: 'l1', progressDetail: { current: 10, total: 100 } }), { done: 10, total: 100 });
  assert.deepEqual(t.update({ status: 'Downloading', id: 'l2', progressDetail: { current: 50, total: 50 } }), { done: 60, total: 150 });
  assert.deepEqual(t.update({ status: 'Download complete', id: 'l1' }), { done: 150, total: 150 });
  assert.equal(t.update({ status: 'Pull complete', id: 'l1' }), undefined, 'no change, no report');
  assert.equal(t.update({ status: 'Status: Downloaded newer image' }), undefined);
  assert.equal(t.update({ status: 'Digest: sha256:abc', id: 'x' }), undefined);
});

void test('PullTracker counts layers when the engine reports no sizes (Podman 4)', () => {
  const t = new PullTracker();
  assert.deepEqual(t.update({ status: 'Already exists', progressDetail: {}, id: 'a' }), { done: 1, total: 1 });
  assert.deepEqual(t.update({ status: 'Pulling fs layer', progressDetail: {}, id: 'b' }), { done: 1, total: 2 });
  assert.deepEqual(t.update({ status: 'Download complete', progressDetail: {}, id: 'b' }), { done: 2, total: 2 });
  assert.equal(t.update({ status: 'Download complete', progressDetail: {}, id: 'b' }), undefined);
});

void test('in-band stream errors and the refs a load reports (Docker and Podman wording)', () => {
  assert.equal(streamError({ error: 'manifest unknown', errorDetail: { message: 'manifest unknown' } }), 'manifest unknown');
  assert.equal(streamError({ errorDetail: { message: 'denied' } }), 'denied');
  assert.equal(streamError({ status: 'ok' }), undefined);
  assert.deepEqual(loadedRefs('Loaded image: nginx:1.27\n'), ['nginx:1.27']);
  assert.deepEqual(loadedRefs('Loaded image ID: sha256:abc\n'), ['sha256:abc']);
  assert.deepEqual(loadedRefs('Loaded image(s): localhost/a:1,localhost/b:2\n'), ['localhost/a:1', 'localhost/b:2']);
  assert.deepEqual(loadedRefs('Getting image source signatures\n'), []);
});

function frame(stream: number, text: string): Buffer {
  const payload = Buffer.from(text);
  const h = Buffer.alloc(8);
  h[0] = stream;
  h.writeUInt32BE(payload.length, 4);
  return Buffer.concat([h, payload]);
}

void test('log tail: demultiplexed in frame order, frames cut anywhere, last N lines, a UTF-8 char split between chunks', async () => {
  const all = Buffer.concat([frame(1, 'one\ntw'), frame(2, 'err1\n'), frame(1, 'o\nthree é\n'), frame(2, 'err2')]);
  // Feed it in 3-byte pieces: headers and characters are cut everywhere.
  const pieces: Buffer[] = [];
  for (let i = 0; i < all.length; i += 3) pieces.push(all.subarray(i, i + 3));
  assert.deepEqual(await tailOf(Readable.from(pieces), 10, false), ['one', 'err1', 'two', 'three é', 'err2']);
  assert.deepEqual(await tailOf(Readable.from(pieces), 2, false), ['three é', 'err2']);
  assert.deepEqual(await tailOf(Buffer.from('a\r\nb\nc'), 5, true), ['a', 'b', 'c'], 'TTY: raw bytes');
  assert.deepEqual(await tailOf(Buffer.from('a\n'), 0, true), []);
});

void test('log tail: a huge line is cut, never held whole', async () => {
  const big = frame(1, `${'z'.repeat(100_000)}\nend\n`);
  const lines = await tailOf(Readable.from([big]), 5, false);
  assert.equal(lines.length, 2);
  assert.equal(lines[0]!.length, 4096);
  assert.equal(lines[1], 'end');
});
