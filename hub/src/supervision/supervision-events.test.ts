import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { and, count, eq } from 'drizzle-orm';
import type { ServiceEvent } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { serviceEvents } from '../db/schema.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { EVENTS_PER_SERVICE, EVENTS_RETENTION_MS, EventsRetention } from './events-retention.service.js';
import { enrollDevice, type TestDevice } from './supervision-test-kit.js';

let t: TestHub;
let admin: string;
let dev: TestDevice;
let db: Db;
before(async () => {
  t = await startTestHub();
  admin = await t.login();
  db = t.hub.app.get<Db>(DB);
  dev = await enrollDevice(t, admin, 'pi-events');
});
after(async () => {
  await dev?.close();
  await t?.close();
});

const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(t.hub.app.get(MetricsService).registry, name, labels);
const history = async (app: string, service: string, query = '') =>
  t.api<ServiceEvent[]>('GET', `/api/devices/${dev.id}/services/${app}/${service}/history${query}`, { token: admin });
const stored = async (app: string, service: string) =>
  (await db.select({ n: count() }).from(serviceEvents).where(and(eq(serviceEvents.deviceId, dev.id), eq(serviceEvents.app, app), eq(serviceEvents.service, service))))[0]!.n;

test('an event sent twice with the same id is stored once; the second counts as a duplicate', async () => {
  const [storedBefore, dupBefore] = [await metric('pifleet_supervision_events_stored_total'), await metric('pifleet_supervision_events_duplicate_total')];
  const data = { app: 'web', service: 'api', from: 'RUNNING' as const, to: 'EXITED' as const, reason: 'exited', exitCode: 1, runMs: 1200, restarts: 1 };
  const id = await dev.event(data, { id: 'evt-twice-1' });
  await dev.event(data, { id });
  await until('duplicate counted', async () => (await metric('pifleet_supervision_events_duplicate_total')) === dupBefore + 1);
  assert.equal(await metric('pifleet_supervision_events_stored_total'), storedBefore + 1);
  assert.equal(await stored('web', 'api'), 1);
});

test('an event the agent sends again after a reconnect is stored once', async () => {
  const data = { app: 'web', service: 'worker', from: 'STARTING' as const, to: 'RUNNING' as const, reason: 'started' };
  // Published (QoS 1, so stored before the PUBACK came back), then the connection drops and the
  // agent, not sure it was delivered, sends it again on the new one.
  const id = await dev.event(data, { id: 'evt-reconnect-1', seq: 900 });
  await dev.reconnect();
  await dev.event(data, { id, seq: 900 });
  await dev.event({ ...data, from: 'RUNNING', to: 'EXITED', reason: 'exited', exitCode: 0 }, { id: 'evt-reconnect-2', seq: 901 });
  await until('second event stored', async () => (await stored('web', 'worker')) === 2);
  assert.deepEqual((await history('web', 'worker')).body.map((e) => e.eventId), ['evt-reconnect-2', 'evt-reconnect-1']);
});

test('history: newest first, limited, every field of the event; bad names 400, unknown device 404', async () => {
  const t0 = Date.now() - 60_000;
  for (let i = 0; i < 5; i++) {
    await dev.event(
      { app: 'shop', service: 'db', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: 137, oomKilled: true, runMs: 400 + i, restarts: i, delayMs: 1000 * 2 ** i, crashLoop: i >= 2, logTail: [`line ${i}`, 'out of memory'], message: `run ${i}` },
      { id: `hist-${i}`, seq: 100 + i, at: t0 + i * 1000 },
    );
  }
  await until('five stored', async () => (await stored('shop', 'db')) === 5);
  const all = await history('shop', 'db');
  assert.equal(all.status, 200);
  assert.deepEqual(all.body.map((e) => e.eventId), ['hist-4', 'hist-3', 'hist-2', 'hist-1', 'hist-0']);
  const { receivedAt, ...newest } = all.body[0]!;
  assert.ok(Date.parse(receivedAt!) >= t0 && Date.parse(receivedAt!) <= Date.now(), 'when the hub stored it');
  assert.deepEqual(newest, {
    eventId: 'hist-4',
    deviceId: dev.id,
    app: 'shop',
    service: 'db',
    from: 'RUNNING',
    to: 'BACKOFF',
    reason: 'exited',
    at: new Date(t0 + 4000).toISOString(),
    exitCode: 137,
    oomKilled: true,
    runMs: 404,
    restarts: 4,
    delayMs: 16_000,
    crashLoop: true,
    logTail: ['line 4', 'out of memory'],
    message: 'run 4',
  });
  assert.deepEqual((await history('shop', 'db', '?limit=2')).body.map((e) => e.eventId), ['hist-4', 'hist-3']);
  assert.deepEqual((await history('shop', 'nothing')).body, []);
  assert.equal((await history('shop', 'db', '?limit=0')).status, 400);
  assert.equal((await history('shop', 'db', '?limit=501')).status, 400);
  assert.equal((await history('-bad', 'db')).status, 400);
  const unknown = await t.api('GET', '/api/devices/no-such-pi/services/shop/db/history', { token: admin });
  assert.equal(unknown.status, 404);
  assert.equal(unknown.body.code, 'not_found');
});

test('retention: events older than 30 days go, and each service keeps its newest events only', async () => {
  const now = Date.now();
  await dev.event({ app: 'old', service: 'svc', from: 'RUNNING', to: 'EXITED', reason: 'exited' }, { id: 'ancient-1', at: now - EVENTS_RETENTION_MS - 3600_000 });
  await dev.event({ app: 'old', service: 'svc', from: 'EXITED', to: 'RUNNING', reason: 'started' }, { id: 'recent-1', at: now - 3600_000 });
  await until('both stored', async () => (await stored('old', 'svc')) === 2);
  // A service with more events than the cap (written directly: the device's rate limit would take minutes).
  const rows = Array.from({ length: EVENTS_PER_SERVICE + 5 }, (_, i) => ({
    deviceId: dev.id, eventId: `bulk-${i}`, seq: i, app: 'bulk', service: 'svc', fromState: 'RUNNING', toState: 'EXITED', reason: 'exited', at: new Date(now - 86_400_000 + i * 1000),
  }));
  for (let i = 0; i < rows.length; i += 200) await db.insert(serviceEvents).values(rows.slice(i, i + 200));
  const retention = t.hub.app.get(EventsRetention);
  await retention.run(new Date(now)); // the first run after a start: every service in one pass
  assert.equal(await stored('bulk', 'svc'), EVENTS_PER_SERVICE);
  // Later runs trim only the services that grew.
  await db.insert(serviceEvents).values({ ...rows[0]!, eventId: 'bulk-late', seq: 5000, at: new Date(now - 1000) });
  retention.grew(dev.id, 'bulk', 'svc');
  await retention.run(new Date(now));
  assert.deepEqual((await history('old', 'svc')).body.map((e) => e.eventId), ['recent-1']);
  assert.equal(await stored('bulk', 'svc'), EVENTS_PER_SERVICE);
  const newest = await history('bulk', 'svc', '?limit=1');
  assert.equal(newest.body[0]!.eventId, 'bulk-late');
  const oldest = await db.select({ id: serviceEvents.eventId }).from(serviceEvents).where(eq(serviceEvents.eventId, 'bulk-5'));
  assert.deepEqual(oldest, [], 'the six oldest went');
  assert.ok((await metric('pifleet_supervision_events_expired_total')) >= 7);
});

test('evt/sync: the hub sends the desired state again, after acknowledging the ask (its intake never waits on the publish)', async () => {
  const before = await metric('pifleet_supervision_sync_requests_total', { result: 'sent' });
  const received = dev.desired.length;
  await dev.publish('evt/sync', JSON.stringify({ v: 1, type: 'evt', id: 'sync-1', ts: Date.now(), kind: 'sync', seq: 5000, at: Date.now(), data: {} }));
  // The next message is handled at once: publishing from inside the sync's handler would have held
  // the hub's intake until its own publish timed out (5 s), the PUBACK being unreadable meanwhile.
  const t0 = Date.now();
  await dev.event({ app: 'after', service: 'sync', from: 'STARTING', to: 'RUNNING', reason: 'started' }, { id: 'after-sync' });
  await until('event after the sync stored', async () => (await stored('after', 'sync')) === 1);
  assert.ok(Date.now() - t0 < 4000, `stored after ${Date.now() - t0} ms`);
  await until('desired state received', () => dev.desired.length > received);
  await until('sync counted', async () => (await metric('pifleet_supervision_sync_requests_total', { result: 'sent' })) === before + 1);
});
