import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { envelope } from '@pifleet/protocol';
import type { DeviceContainers } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { enrollDevice, openLiveStream, status, type TestDevice } from './supervision-test-kit.js';

// A real hub (embedded aedes, PGlite) and a real MQTT client acting as the enrolled device.
let t: TestHub;
let admin: string;
let dev: TestDevice;
before(async () => {
  t = await startTestHub();
  admin = await t.login();
  dev = await enrollDevice(t, admin, 'pi-reported');
  await dev.online(1);
  await until('online', async () => (await t.api('GET', `/api/devices/${dev.id}`, { token: admin })).body.online === true);
});
after(async () => {
  await dev?.close();
  await t?.close();
});

const containers = async (key = dev.id) => (await t.api<DeviceContainers>('GET', `/api/devices/${key}/containers`, { token: admin })).body;
const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(t.hub.app.get(MetricsService).registry, name, labels);

test('a reported state shows in GET containers and on the live stream as a `containers` event', async () => {
  const live = await openLiveStream(t, admin);
  try {
    const sent = await dev.report({
      desiredVersion: 4,
      appliedVersion: 3,
      apps: { web: { nginx: status('RUNNING', { restarts: 2, startedAt: Date.now() - 5000, health: 'healthy' }) } },
    });
    const e = await live.waitFor('containers of the device', (ev) => ev.event === 'containers' && ev.data.deviceId === dev.id);
    const pushed = e.data as DeviceContainers;
    assert.equal(pushed.device, 'pi-reported');
    assert.equal(pushed.online, true);
    assert.equal(pushed.reportedVersion, 4);
    assert.equal(pushed.appliedVersion, 3);
    assert.equal(pushed.engine, 'up');
    assert.equal(pushed.services.length, 1);
    const s = pushed.services[0]!;
    assert.deepEqual([s.app, s.service, s.state, s.reportedState, s.restarts, s.health, s.image], ['web', 'nginx', 'RUNNING', 'RUNNING', 2, 'healthy', 'nginx:1.27']);
    // GET answers the same, by id and by name.
    assert.deepEqual(await containers(), pushed);
    assert.deepEqual(await containers('pi-reported'), pushed);
    assert.ok(Date.parse(pushed.reportedAt!) >= sent.ts - 60_000);
  } finally {
    live.close();
  }
});

test('a report older than the stored one (by envelope ts) is ignored and counted as stale', async () => {
  const before = await metric('pifleet_supervision_reports_total', { result: 'stale' });
  await dev.report({ ts: Date.now() - 3600_000, apps: { web: { nginx: status('FATAL') } } });
  await until('stale counted', async () => (await metric('pifleet_supervision_reports_total', { result: 'stale' })) === before + 1);
  assert.equal((await containers()).services[0]!.state, 'RUNNING');
});

test('a device going offline shows UNKNOWN with the reported state kept, also on the live stream', async () => {
  const live = await openLiveStream(t, admin);
  try {
    await dev.publish('status', JSON.stringify({ ...envelope('status'), state: 'offline', session: 1 }), { retain: true });
    const e = await live.waitFor('containers while offline', (ev) => ev.event === 'containers' && ev.data.deviceId === dev.id && ev.data.online === false);
    const nginx = (e.data as DeviceContainers).services.find((s) => s.service === 'nginx')!;
    assert.deepEqual([nginx.state, nginx.reportedState], ['UNKNOWN', 'RUNNING']);
    const c = await containers();
    assert.equal(c.online, false);
    assert.deepEqual(c.services.map((s) => [s.service, s.state, s.reportedState]), [['nginx', 'UNKNOWN', 'RUNNING']]);
    // Back online: the agent's state again.
    await dev.online(2);
    await until('online again', async () => (await containers()).services.find((s) => s.service === 'nginx')!.state === 'RUNNING');
  } finally {
    live.close();
  }
});

test('GET containers of an unknown device is 404; of a device that never reported and runs no app, nothing', async () => {
  assert.equal((await t.api('GET', '/api/devices/no-such-pi/containers', { token: admin })).status, 404);
  const quiet = await enrollDevice(t, admin, 'pi-quiet');
  try {
    const c = await containers(quiet.id);
    assert.deepEqual([c.reportedAt, c.reportedVersion, c.engine, c.services], [null, null, null, []]);
  } finally {
    await quiet.close();
  }
});
