import assert from 'node:assert/strict';
import { test } from 'node:test';
import { StateReportedMessageSchema, leafTopic } from '@pifleet/protocol';
import { TEST_DEVICE_ID } from '../testing/enroll-server.js';
import { TestBroker, Watcher } from '../testing/test-broker.js';
import { waitFor } from '../testing/wait.js';
import { ReportedState, type ReportedBody } from './reported-state.js';
import { captureLog, startLink } from './test-support.js';

const REPORTED = leafTopic(TEST_DEVICE_ID, 'state/reported');
const SYNC = leafTopic(TEST_DEVICE_ID, 'evt/+', 'sync');

void test('reported state: at once on connect with a sync, coalesced after, never the same body twice, retained', async (t) => {
  const broker = await TestBroker.start();
  t.after(() => broker.stop());
  const { log } = captureLog('warn');
  const watcher = await Watcher.connect(broker.url);
  t.after(() => watcher.close());
  let body: ReportedBody = { desiredVersion: 1, apps: {}, engine: 'up' };
  let seq = 10;
  const ref: { reported?: ReportedState } = {};
  const link = await startLink(t, broker, log, () => ref.reported?.linkUp());
  const reported = new ReportedState({ sink: link, snapshot: () => body, nextSeq: () => ++seq, log, minIntervalMs: 250 });
  ref.reported = reported;
  t.after(() => reported.stop());
  reported.linkUp();
  const seen = (topic: string) => watcher.seen.filter((s) => s.topic === topic);
  await waitFor('first reported state and a sync', () => (seen(REPORTED).length === 1 && seen(SYNC).length === 1 ? true : undefined));
  assert.ok(StateReportedMessageSchema.safeParse(seen(REPORTED)[0]!.json).success);
  assert.equal((seen(SYNC)[0]!.json as { seq: number }).seq, 11);

  // Unchanged: nothing more is sent.
  reported.update();
  await new Promise((r) => setTimeout(r, 400));
  assert.equal(seen(REPORTED).length, 1);

  // 40 changes over ~1 s leave as a handful of messages, the last one carrying the newest state.
  const start = Date.now();
  for (let i = 0; i < 40; i++) {
    body = { ...body, desiredVersion: 2 + i };
    reported.update();
    await new Promise((r) => setTimeout(r, 25));
  }
  await waitFor('the newest state', () => ((seen(REPORTED).at(-1)?.json as { desiredVersion?: number } | undefined)?.desiredVersion === 41 ? true : undefined));
  const sent = seen(REPORTED).length - 1;
  const elapsed = Date.now() - start;
  assert.ok(sent <= Math.ceil(elapsed / 250) + 1, `${sent} messages in ${elapsed} ms`);
  assert.ok(sent >= 2, 'changes are published while they go on, not only at the end');

  // A late subscriber (the hub after a restart) gets the newest one, retained.
  const late = await Watcher.connect(broker.url);
  t.after(() => late.close());
  await waitFor('retained copy', () => late.seen.find((s) => s.topic === REPORTED));
  const retained = late.seen.find((s) => s.topic === REPORTED)!;
  assert.equal(retained.retain, true);
  assert.equal((retained.json as { desiredVersion: number }).desiredVersion, 41);

  // The hub coming back online asks for a sync again; staying online does not.
  reported.hubStatus(false);
  reported.hubStatus(true);
  reported.hubStatus(true);
  await waitFor('second sync', () => (seen(SYNC).length === 2 ? true : undefined));
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(seen(SYNC).length, 2);
});

void test('a body that does not validate is logged and not sent', async (t) => {
  const broker = await TestBroker.start();
  t.after(() => broker.stop());
  const { log, has } = captureLog('warn');
  const watcher = await Watcher.connect(broker.url);
  t.after(() => watcher.close());
  const link = await startLink(t, broker, log);
  const reported = new ReportedState({ sink: link, snapshot: () => ({ desiredVersion: -1, apps: {} }), nextSeq: () => 1, log });
  t.after(() => reported.stop());
  reported.update();
  await waitFor('error logged', () => (has('reported state does not validate; not sent') ? true : undefined));
  assert.equal(watcher.seen.filter((s) => s.topic === REPORTED).length, 0);
});
