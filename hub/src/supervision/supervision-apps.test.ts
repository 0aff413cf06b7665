import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { envelope } from '@pifleet/protocol';
import type { AuditEntry, DeviceContainers } from '../contract.js';
import { until } from '../broker/mqtt-test-helpers.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { enrollDevice, status, type TestDevice } from './supervision-test-kit.js';

// The reported side against the real desired side: apps applied through the API, controls
// recorded by the apps module and sent to the device.
let t: TestHub;
let admin: string;
let operator: string;
let viewer: string;
let dev: TestDevice;
before(async () => {
  t = await startTestHub();
  admin = await t.login();
  operator = await t.userToken('operator', admin);
  viewer = await t.userToken('viewer', admin);
  dev = await enrollDevice(t, admin, 'pi-apps');
  await dev.online(1);
  const compose = ['name: shop', 'services:', '  web:', '    image: nginx:1.27', '  worker:', '    image: busybox:1.36', '    command: ["sleep", "3600"]', ''].join('\n');
  const r = await t.api('POST', '/api/apps/apply', { token: admin, body: { fleet: 'default', compose } });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  await until('desired state with shop', () => dev.desired.some((m) => m.apps['shop'] !== undefined));
});
after(async () => {
  await dev?.close();
  await t?.close();
});

const containers = async (token = viewer) => (await t.api<DeviceContainers>('GET', `/api/devices/${dev.id}/containers`, { token })).body;
const act = (token: string, body: unknown) => t.api<DeviceContainers>('POST', `/api/devices/${dev.id}/services/action`, { token, body });

test('every desired service appears: PENDING until the agent reports it, then its reported state', async () => {
  const desired = dev.desired.at(-1)!;
  let c = await containers();
  assert.equal(c.desiredVersion, desired.version);
  assert.deepEqual(c.services.map((s) => [s.app, s.service, s.state, s.reportedState, s.image, s.release]), [
    ['shop', 'web', 'PENDING', null, 'nginx:1.27', 1],
    ['shop', 'worker', 'PENDING', null, 'busybox:1.36', 1],
  ]);
  await dev.report({ desiredVersion: desired.version, appliedVersion: desired.version, apps: { shop: { web: status('RUNNING') } } });
  await until('web reported', async () => (await containers()).services[0]!.state === 'RUNNING');
  c = await containers();
  assert.deepEqual(c.services.map((s) => [s.service, s.state]), [['web', 'RUNNING'], ['worker', 'PENDING']]);
  assert.deepEqual([c.reportedVersion, c.appliedVersion], [desired.version, desired.version]);
});

test('the action route records controls (sent to the device, audited) and answers with the containers', async () => {
  assert.equal((await act(viewer, { action: 'stop', app: 'shop', service: 'web' })).status, 403);
  const sent = dev.desired.length;
  const r = await act(operator, { action: 'stop', app: 'shop', service: 'web' });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.deepEqual(r.body.services.map((s) => [s.service, s.stopped]), [['web', true], ['worker', false]]);
  await until('stop sent to the device', () => dev.desired.slice(sent).some((m) => m.controls['shop']?.['web']?.stopped === true));

  const before = Date.now();
  const paused = await act(operator, { action: 'pause', app: 'shop', minutes: 15 });
  assert.equal(paused.status, 200);
  for (const s of paused.body.services) assert.ok(Date.parse(s.pausedUntil!) >= before + 15 * 60_000 - 1000, `${s.service} paused`);
  const resumed = await act(operator, { action: 'resume', app: 'shop' });
  assert.deepEqual(resumed.body.services.map((s) => s.pausedUntil), [null, null]);

  assert.equal((await act(operator, { action: 'restart', app: 'shop', service: 'db' })).status, 400);
  const audit = await t.api<AuditEntry[]>('GET', `/api/audit?target=${dev.id}`, { token: admin });
  assert.deepEqual(
    audit.body.filter((e) => e.action.startsWith('service.')).map((e) => [e.action, e.result]),
    [['service.resume', 'ok'], ['service.pause', 'ok'], ['service.stop', 'ok']],
  );
});

test('evt/sync makes the hub send the desired state again', async () => {
  const sent = dev.desired.length;
  await dev.publish('evt/sync', JSON.stringify({ ...envelope('evt'), kind: 'sync', seq: 1, at: Date.now(), data: {} }));
  await until('desired state sent again', () => dev.desired.length > sent);
  assert.equal(dev.desired.at(-1)!.version, dev.desired[sent - 1]!.version);
});
