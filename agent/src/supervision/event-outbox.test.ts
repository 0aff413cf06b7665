import assert from 'node:assert/strict';
import { appendFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test } from 'node:test';
import { EventMessageSchema, leafTopic } from '@pifleet/protocol';
import { TEST_DEVICE_ID } from '../testing/enroll-server.js';
import { TestBroker, Watcher } from '../testing/test-broker.js';
import { waitFor } from '../testing/wait.js';
import { EventOutbox, OUTBOX_FILE } from './event-outbox.js';
import { captureLog, offlineLink, startLink, tempDir } from './test-support.js';

/** A link that never connected: what the outbox sees while the device is offline. */
const offline = offlineLink(captureLog('error').log);
const data = (n: number) => ({ app: 'a', service: 's', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: n });
const SUP_TOPIC = leafTopic(TEST_DEVICE_ID, 'evt/+', 'supervision');

void test('offline events survive an agent restart with their ids and seqs; seq goes on from there', async (t) => {
  const dir = await tempDir(t);
  const { log } = captureLog();
  const a = new EventOutbox({ dir, sink: offline, log });
  await a.open();
  const added = [a.add('supervision', data(1), 1000), a.add('supervision', data(2), 2000)];
  assert.equal(a.reserveSeq(), 3);
  await a.close();

  const b = new EventOutbox({ dir, sink: offline, log });
  await b.open();
  assert.equal(b.pending, 2);
  assert.equal(b.lastSeq, 3, 'a reserved seq is never handed out again');
  assert.equal(b.add('supervision', data(3), 3000).seq, 4);
  await b.close();
  const c = new EventOutbox({ dir, sink: offline, log });
  await c.open();
  assert.equal(c.pending, 3);
  await c.close();
  const lines = (await readFile(join(dir, OUTBOX_FILE), 'utf8')).trim().split('\n');
  assert.deepEqual(JSON.parse(lines[1]!), { e: added[0] });
});

void test('full: the oldest events go, the drops are counted and the count survives a restart', async (t) => {
  const dir = await tempDir(t);
  const { log, has } = captureLog();
  const a = new EventOutbox({ dir, sink: offline, log, maxEvents: 5 });
  await a.open();
  for (let i = 1; i <= 8; i++) a.add('supervision', data(i), i);
  assert.equal(a.pending, 5);
  assert.equal(a.dropped, 3);
  assert.ok(has('event outbox full, oldest events dropped'));
  await a.close();
  const b = new EventOutbox({ dir, sink: offline, log, maxEvents: 5 });
  await b.open();
  assert.equal(b.dropped, 3);
  assert.equal(b.pending, 5);
  await b.close();

  // The byte bound: three events of ~1 KiB fit in 4 KiB, a fourth pushes the first out.
  const dir2 = await tempDir(t);
  const c = new EventOutbox({ dir: dir2, sink: offline, log, maxBytes: 4096 });
  await c.open();
  for (let i = 0; i < 4; i++) c.add('supervision', { ...data(i), message: 'x'.repeat(1000) }, i);
  assert.equal(c.pending, 3);
  assert.equal(c.dropped, 1);
  await c.close();
});

void test('a torn last line (power cut mid-write) is skipped; the rest is kept', async (t) => {
  const dir = await tempDir(t);
  const { log, has } = captureLog();
  const a = new EventOutbox({ dir, sink: offline, log });
  await a.open();
  a.add('supervision', data(1), 1);
  a.add('supervision', data(2), 2);
  await a.close();
  await appendFile(join(dir, OUTBOX_FILE), '{"e":{"v":1,"type":"evt","id":"tor');
  const b = new EventOutbox({ dir, sink: offline, log });
  await b.open();
  assert.equal(b.pending, 2);
  assert.ok(has('skipped unreadable outbox lines (a write cut short)'));
  await b.close();
});

void test('over a real broker: sent once acknowledged, kept through an outage and a restart, then all delivered once and in order', async (t) => {
  const dir = await tempDir(t);
  const broker = await TestBroker.start();
  t.after(() => broker.stop());
  const { log } = captureLog('warn');
  let outbox: EventOutbox | undefined;
  const link = await startLink(t, broker, log, () => void outbox?.flush());
  let watcher = await Watcher.connect(broker.url);
  t.after(() => watcher.close());

  outbox = new EventOutbox({ dir, sink: link, log, window: 4 });
  await outbox.open();
  for (let i = 1; i <= 3; i++) outbox.add('supervision', data(i), i);
  await waitFor('3 events at the hub', () => (watcher.seen.filter((s) => s.topic === SUP_TOPIC).length === 3 ? true : undefined));
  await waitFor('acknowledged ones leave', () => (outbox!.pending === 0 ? true : undefined));
  for (const s of watcher.seen.filter((x) => x.topic === SUP_TOPIC)) assert.ok(EventMessageSchema.safeParse(s.json).success, 'a valid evt message');

  // The broker goes away: events wait (and survive the agent restarting meanwhile).
  await broker.stop();
  await waitFor('link down', () => (link.connected ? undefined : true));
  for (let i = 4; i <= 40; i++) outbox.add('supervision', data(i), i);
  await outbox.flush();
  assert.equal(outbox.pending, 37);
  await outbox.close();
  outbox = new EventOutbox({ dir, sink: link, log, window: 4 });
  await outbox.open();
  assert.equal(outbox.pending, 37);

  await watcher.close();
  await broker.restart();
  watcher = await Watcher.connect(broker.url);
  await waitFor('link back', () => (link.connected ? true : undefined), 10_000);
  await outbox.flush();
  await waitFor('backlog acknowledged', () => (outbox!.pending === 0 ? true : undefined), 10_000);
  const delivered = () => watcher.seen.filter((s) => s.topic === SUP_TOPIC);
  await waitFor('backlog at the hub', () => (delivered().length >= 37 ? true : undefined));
  await new Promise((r) => setTimeout(r, 100)); // a duplicate would arrive right behind
  const got = delivered().map((s) => s.json as { id: string; seq: number });
  assert.equal(new Set(got.map((g) => g.id)).size, got.length, 'no event twice');
  assert.deepEqual(got.map((g) => g.seq), Array.from({ length: 37 }, (_, i) => i + 4), 'every one, in order');
  await outbox.close();
});

void test('once acknowledgements pile up the journal is compacted', async (t) => {
  const dir = await tempDir(t);
  const broker = await TestBroker.start();
  t.after(() => broker.stop());
  const { log } = captureLog('warn');
  const link = await startLink(t, broker, log);
  const o = new EventOutbox({ dir, sink: link, log, window: 32 });
  await o.open();
  for (let i = 0; i < 600; i++) o.add('supervision', data(i % 250), i);
  await o.flush();
  await waitFor('all acked', () => (o.pending === 0 ? true : undefined));
  const bytes = await o.fileBytes();
  // 600 events and 600 acknowledgements would be ~100 KB; compaction leaves a few lines.
  assert.ok(bytes < 30_000, `journal is ${bytes} bytes after compaction`);
  await o.close();
  const again = new EventOutbox({ dir, sink: offline, log });
  await again.open();
  assert.equal(again.pending, 0);
  assert.equal(again.lastSeq, 600);
  await again.close();
});
