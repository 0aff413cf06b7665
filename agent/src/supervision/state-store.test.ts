import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { StateDesiredMessageSchema, envelope } from '@pifleet/protocol';
import { COUNTERS_FILE, DESIRED_FILE, StateStore } from './state-store.js';
import { captureLog, tempDir } from './test-support.js';

const desired = (version: number) =>
  StateDesiredMessageSchema.parse({
    ...envelope('state-desired'),
    version,
    apps: { web: { release: 3, services: { web: { image: 'nginx:1', environment: { B: '2', A: '1' } } } } },
    controls: { web: { web: { stopped: true, restartSeq: 2 } } },
  });

void test('the accepted desired state and the counters survive a new store on the same dir', async (t) => {
  const dir = await tempDir(t);
  const { log } = captureLog();
  const a = new StateStore(join(dir, 'sup'), log);
  await a.init();
  assert.equal(await a.loadDesired(), undefined);
  assert.equal((await a.loadCounters()).size, 0);
  const msg = desired(7);
  await a.saveDesired(msg);
  const counters = new Map([
    ['web/web', { failedStarts: 2, crashes: 3, restarts: 4, crashLoop: true, actedRestartSeq: 2, actedResetSeq: 1, fatal: { hash: 'h', rules: '{}', since: 5, message: 'm' } }],
    ['web/db', { failedStarts: 0, crashes: 0, restarts: 0, crashLoop: false, actedRestartSeq: 0, actedResetSeq: 0 }],
  ]);
  a.saveCounters(counters);
  await a.flush();

  const b = new StateStore(join(dir, 'sup'), log);
  assert.deepEqual(await b.loadDesired(), msg);
  assert.deepEqual(await b.loadCounters(), counters);
  assert.equal((await stat(join(dir, 'sup', DESIRED_FILE))).mode & 0o777, 0o600);
  assert.equal((await stat(join(dir, 'sup'))).mode & 0o777, 0o700);
});

void test('counter saves coalesce: many queued saves write the newest snapshot', async (t) => {
  const dir = await tempDir(t);
  const { log } = captureLog();
  const s = new StateStore(dir, log);
  await s.init();
  for (let i = 0; i < 50; i++) s.saveCounters(new Map([['a/b', { failedStarts: i, crashes: 0, restarts: 0, crashLoop: false, actedRestartSeq: 0, actedResetSeq: 0 }]]));
  await s.flush();
  const body = JSON.parse(await readFile(join(dir, COUNTERS_FILE), 'utf8')) as { services: Record<string, { failedStarts: number }> };
  assert.equal(body.services['a/b']!.failedStarts, 49);
});

void test('desired states saved in quick succession leave the newest on disk', async (t) => {
  const dir = await tempDir(t);
  const { log } = captureLog();
  const s = new StateStore(dir, log);
  await s.init();
  await Promise.all([1, 2, 3, 4, 5].map((v) => s.saveDesired(desired(v))));
  assert.equal((await s.loadDesired())?.version, 5);
});

void test('unreadable files are reported and ignored, never guessed from', async (t) => {
  const dir = await tempDir(t);
  const { log, has } = captureLog();
  const s = new StateStore(dir, log);
  await s.init();
  await writeFile(join(dir, DESIRED_FILE), '{"version": 3, "apps"');
  await writeFile(join(dir, COUNTERS_FILE), JSON.stringify({ v: 1, services: { 'a/b': { failedStarts: -1 } } }));
  assert.equal(await s.loadDesired(), undefined);
  assert.ok(has(`${DESIRED_FILE} is not JSON; ignoring it`));
  assert.equal((await s.loadCounters()).size, 0);
  assert.ok(has('stored supervision counters are invalid; starting from zero'));
  await writeFile(join(dir, DESIRED_FILE), JSON.stringify({ ...desired(1), apps: { 'bad name!': {} } }));
  assert.equal(await s.loadDesired(), undefined);
  assert.ok(has('stored desired state is invalid; waiting for the hub to send it again'));
});
