import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { MAX_PAYLOAD_BYTES, deviceTopic, envelope } from '@pifleet/protocol';
import type { DeviceContainers, IngestDrop, ServiceEvent } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { EventsIngest } from './events-ingest.service.js';
import { ReportedIngest } from './reported-ingest.service.js';
import { connectAs, enrollDevice, status, type TestDevice } from './supervision-test-kit.js';

// A hostile device and a good one on the same real hub: what the first sends is dropped and
// counted per device and reason, and nothing of it reaches the second or the database.
let t: TestHub;
let admin: string;
let bad: TestDevice;
let good: TestDevice;
before(async () => {
  t = await startTestHub();
  admin = await t.login();
  bad = await enrollDevice(t, admin, 'pi-hostile');
  good = await enrollDevice(t, admin, 'pi-good');
  await bad.online(1);
  await good.online(1);
  await bad.report({ apps: { web: { api: status('RUNNING') } } });
  await until('first report stored', async () => (await containers(bad.id)).services.length === 1);
});
after(async () => {
  await bad?.close();
  await good?.close();
  await t?.close();
});

const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(t.hub.app.get(MetricsService).registry, name, labels);
const rejected = (stream: string, reason: string) => metric('pifleet_ingest_rejected_total', { stream, reason });
const containers = async (id: string) => (await t.api<DeviceContainers>('GET', `/api/devices/${id}/containers`, { token: admin })).body;
const drops = async (id: string) => (await t.api<IngestDrop[]>('GET', `/api/devices/${id}/drops`, { token: admin })).body;
const evt = (kind: string, data: unknown, over: Record<string, unknown> = {}) => JSON.stringify({ ...envelope('evt'), kind, seq: 1, at: Date.now(), data, ...over });
const goodEvent = { app: 'web', service: 'api', from: 'RUNNING', to: 'EXITED', reason: 'exited', exitCode: 1 } as const;

/** Publishes, then waits until the hub counted it under `stream`/`reason`. */
async function refused(stream: string, reason: string, send: () => Promise<void>): Promise<void> {
  const before = await rejected(stream, reason);
  await send();
  await until(`${stream}/${reason} counted`, async () => (await rejected(stream, reason)) === before + 1);
}

test('malformed, invalid, wrong-kind, unknown-kind and NUL-containing payloads are dropped and counted', async () => {
  await refused('state', 'not-json', () => bad.publish('state/reported', '{"v":1,'));
  await refused('state', 'invalid', () => bad.publish('state/reported', JSON.stringify({ ...envelope('state-reported'), desiredVersion: -1 })));
  await refused('state', 'invalid', () => bad.publish('state/reported', JSON.stringify({ ...envelope('state-reported'), desiredVersion: 1, apps: { 'bad name': {} } })));
  // A NUL in the envelope id would be refused by jsonb: caught at the edge.
  await refused('state', 'invalid', () => bad.publish('state/reported', JSON.stringify({ ...envelope('state-reported'), id: 'a\u0000b', desiredVersion: 1 })));
  // A NUL inside a member the schema leaves free (containerId) reaches the database, which refuses
  // that row alone: counted as db_rejected, and the stored report stays the last good one.
  await refused('state', 'db_rejected', () =>
    bad.publish('state/reported', JSON.stringify({ ...envelope('state-reported'), desiredVersion: 1, apps: { web: { api: status('FATAL', { containerId: 'x\u0000y' }) } } })),
  );
  assert.equal((await containers(bad.id)).services[0]!.state, 'RUNNING');

  await refused('events', 'not-json', () => bad.publish('evt/supervision', Buffer.from([0x7b, 0x00, 0x7d])));
  await refused('events', 'invalid', () => bad.publish('evt/supervision', evt('crash', goodEvent)));
  await refused('events', 'invalid', () => bad.publish('evt/supervision', evt('supervision', { ...goodEvent, reason: 'Not A Reason' })));
  await refused('events', 'invalid', () => bad.publish('evt/supervision', evt('supervision', goodEvent, { id: 'e\u0000' })));
  await refused('events', 'unknown_kind', () => bad.publish('evt/reboot', evt('reboot', {})));
  // An exit code past int4 passes the schema (an integer) but not the column: that row alone is refused.
  await refused('events', 'db_rejected', () => bad.publish('evt/supervision', evt('supervision', { ...goodEvent, exitCode: 2 ** 40 })));
  // NULs in the free text of an event are removed (storable text), the event is kept.
  await bad.publish('evt/supervision', evt('supervision', { ...goodEvent, message: 'bad\u0000byte', logTail: ['x\u0000'] }, { id: 'nul-text' }));
  await until('cleaned event stored', async () => (await t.api<ServiceEvent[]>('GET', `/api/devices/${bad.id}/services/web/api/history`, { token: admin })).body.some((e) => e.eventId === 'nul-text'));
  const [e] = (await t.api<ServiceEvent[]>('GET', `/api/devices/${bad.id}/services/web/api/history`, { token: admin })).body;
  assert.deepEqual([e!.message, e!.logTail], ['badbyte', ['x']]);

  // The device's page lists all of it, by stream and reason.
  const listed = new Set((await drops(bad.id)).map((d) => `${d.stream}/${d.reason}`));
  for (const k of ['state/not-json', 'state/invalid', 'state/db_rejected', 'events/not-json', 'events/invalid', 'events/unknown_kind', 'events/db_rejected']) assert.ok(listed.has(k), k);
});

test('the good device is unaffected: its report and events are stored while the other one misbehaves', async () => {
  await good.report({ apps: { web: { api: status('RUNNING') } } });
  await good.event(goodEvent, { id: 'good-1' });
  await until('good report', async () => (await containers(good.id)).services[0]?.state === 'RUNNING');
  await until('good event', async () => (await t.api<ServiceEvent[]>('GET', `/api/devices/${good.id}/services/web/api/history`, { token: admin })).body.length === 1);
  assert.deepEqual(await drops(good.id), []);
});

test('oversized payloads: the broker cuts the publisher; the hub refuses them too if one arrives', async () => {
  const before = await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'oversized' });
  const closed = new Promise<void>((r) => bad.client.once('close', () => r()));
  bad.client.publish(deviceTopic(bad.id, 'state/reported'), Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20), { qos: 1 });
  await closed;
  assert.equal(await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'oversized' }), before + 1);
  bad.client = await connectAs(bad.enrollment);
  // Defence in depth (an external broker configured with a larger limit): the hub's own check.
  const big = Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20);
  await refused('state', 'oversized', () => t.hub.app.get(ReportedIngest).onReported(deviceTopic(bad.id, 'state/reported'), big));
  await refused('events', 'oversized', () => t.hub.app.get(EventsIngest).onEvent(deviceTopic(bad.id, 'evt/supervision'), big));
});

test("a forged report for another device is refused by the broker's ACL and never stored", async () => {
  const before = await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'topic' });
  const closed = new Promise<void>((r) => bad.client.once('close', () => r()));
  const forged = { ...envelope('state-reported'), ts: Date.now() + 60_000, desiredVersion: 9, apps: { web: { api: status('FATAL') } } };
  bad.client.publish(deviceTopic(good.id, 'state/reported'), JSON.stringify(forged), { qos: 1, retain: true });
  bad.client.publish(deviceTopic(good.id, 'evt/supervision'), evt('supervision', goodEvent, { id: 'forged-1' }), { qos: 1 });
  await closed;
  assert.ok((await metric('pifleet_mqtt_denied_total', { action: 'publish', reason: 'topic' })) >= before + 1);
  bad.client = await connectAs(bad.enrollment);
  // Something the hub does handle after the forgery, to know the forgery had its chance to land.
  await good.report({ apps: { web: { api: status('RUNNING', { restarts: 1 }) } } });
  await until('good report after', async () => (await containers(good.id)).services[0]?.restarts === 1);
  const c = await containers(good.id);
  assert.deepEqual([c.reportedVersion, c.services[0]!.state], [1, 'RUNNING']);
  const hist = (await t.api<ServiceEvent[]>('GET', `/api/devices/${good.id}/services/web/api/history`, { token: admin })).body;
  assert.deepEqual(hist.map((e) => e.eventId), ['good-1']);
});

test('messages of a revoked or unknown device are dropped and counted', async () => {
  const gone = await enrollDevice(t, admin, 'pi-revoked');
  await gone.close();
  assert.equal((await t.api('POST', `/api/devices/${gone.id}/revoke`, { token: admin })).status, 200);
  // Still in flight when the revocation cut the device off: handed to the hub as the broker would.
  const report = Buffer.from(JSON.stringify({ ...envelope('state-reported'), desiredVersion: 1, apps: { web: { api: status('RUNNING') } } }));
  await refused('state', 'revoked_device', () => t.hub.app.get(ReportedIngest).onReported(deviceTopic(gone.id, 'state/reported'), report));
  await refused('events', 'revoked_device', () => t.hub.app.get(EventsIngest).onEvent(deviceTopic(gone.id, 'evt/supervision'), Buffer.from(evt('supervision', goodEvent))));
  await refused('state', 'unknown_device', () => t.hub.app.get(ReportedIngest).onReported(deviceTopic('zzzzzzzzzzzz', 'state/reported'), report));
  assert.equal((await containers(gone.id)).reportedAt, null);
});
