import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { test, type TestContext } from 'node:test';
import { StateDesiredMessageSchema, envelope, leafTopic, type AppSpecInput, type StateReportedMessage } from '@pifleet/protocol';
import { TEST_DEVICE_ID } from '../testing/enroll-server.js';
import { TestBroker, Watcher } from '../testing/test-broker.js';
import { waitFor } from '../testing/wait.js';
import { SupervisionService } from './supervision-service.js';
import { captureLog, startLink, tempDir } from './test-support.js';

// The composition without a container engine: what the agent does on a Pi with no Docker yet.

const DESIRED = leafTopic(TEST_DEVICE_ID, 'state/desired');
const REPORTED = leafTopic(TEST_DEVICE_ID, 'state/reported');

const desired = (version: number, apps: Record<string, AppSpecInput>) =>
  JSON.stringify(StateDesiredMessageSchema.parse({ ...envelope('state-desired'), version, apps }));

async function setup(t: TestContext) {
  const broker = await TestBroker.start();
  t.after(() => broker.stop());
  const hub = await Watcher.connect(broker.url);
  t.after(() => hub.close());
  const dir = await tempDir(t);
  const { log, has } = captureLog('debug');
  const ref: { svc?: SupervisionService } = {};
  const link = await startLink(t, broker, log, () => ref.svc?.linkUp());
  const make = async () => {
    const svc = new SupervisionService({ engine: undefined, link, dataDir: dir, log, reportedMinIntervalMs: 20 });
    ref.svc = svc;
    await svc.start(new AbortController().signal);
    t.after(() => svc.stop());
    return svc;
  };
  const reported = () => hub.seen.filter((s) => s.topic === REPORTED).at(-1)?.json as StateReportedMessage | undefined;
  return { hub, dir, make, reported, has };
}

void test('without an engine: desired states are accepted newest first and stored, the engine is reported down', async (t) => {
  const { hub, dir, make, reported, has } = await setup(t);
  const svc = await make();
  await waitFor('reported engine down', () => (reported()?.engine === 'down' ? true : undefined));
  assert.equal(reported()!.error?.code, 'engine_down');

  await hub.publish(DESIRED, desired(2, { web: { release: 1, services: { web: { image: 'nginx:1' } } } }), true);
  await waitFor('v2 accepted', () => (svc.desiredVersion === 2 ? true : undefined));
  await waitFor('v2 reported', () => (reported()?.desiredVersion === 2 ? true : undefined));
  assert.equal(reported()!.appliedVersion, undefined, 'accepted, not applied');
  assert.deepEqual(reported()!.apps['web']?.['web']?.state, 'PENDING');

  // An older or equal version (a stale retained copy, a reordered delivery) is ignored.
  await hub.publish(DESIRED, desired(1, {}), false);
  await hub.publish(DESIRED, desired(2, {}), false);
  await waitFor('ignored', () => (has('ignored desired state that is not newer') ? true : undefined));
  assert.equal(svc.desiredVersion, 2);
  assert.ok(svc.supervisor.record('web', 'web'), 'the accepted apps stay');
  await svc.store.flush();
  const stored = JSON.parse(await readFile(join(dir, 'supervision', 'desired.json'), 'utf8')) as { version: number };
  assert.equal(stored.version, 2);

  // An agent restart finds the accepted state on disk before anything arrives from the hub.
  await svc.stop();
  const again = await make();
  assert.equal(again.desiredVersion, 2);
  assert.ok(has('desired state loaded from disk'));
  assert.ok(again.supervisor.record('web', 'web'));
});

void test('an app that cannot be applied is refused with invalid_spec naming it; the others are taken', async (t) => {
  const { hub, make, reported } = await setup(t);
  const svc = await make();
  await hub.publish(
    DESIRED,
    desired(5, {
      good: { release: 1, services: { a: { image: 'a' } } },
      bad: { release: 1, services: { api: { image: 'b', dependsOn: { db: 'service_healthy' } } } },
    }),
    true,
  );
  await waitFor('v5 reported', () => (reported()?.desiredVersion === 5 ? true : undefined));
  assert.deepEqual(svc.error && { code: svc.error.code, app: svc.error.app, service: svc.error.service }, { code: 'invalid_spec', app: 'bad', service: 'api' });
  assert.equal(reported()!.error?.code, 'invalid_spec');
  assert.match(reported()!.error!.message, /api depends on db, which the app does not define/);
  assert.ok(svc.supervisor.record('good', 'a'));
  assert.equal(svc.supervisor.record('bad', 'api'), undefined);
});
