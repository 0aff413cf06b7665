import assert from 'node:assert/strict';
import { test } from 'node:test';
import { count, eq } from 'drizzle-orm';
import { deviceTopic, envelope } from '@pifleet/protocol';
import type { Alert, DeviceContainers, ServiceEvent, ServiceRecord } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { serviceEvents } from '../db/schema.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';
import { usePostgresTestHub } from '../http/postgres-test-hub.js';
import { EVENTS_PER_SERVICE, EventsRetention } from './events-retention.service.js';
import { EventsIngest } from './events-ingest.service.js';
import { enrollDevice, status } from './supervision-test-kit.js';

const pgHub = usePostgresTestHub();

test('on a real PostgreSQL: reports newest-wins, events once, poisoned rows isolated, alerts, troubles, retention', async (ctx) => {
  const t = pgHub.get(ctx);
  if (!t) return;
  const admin = await t.login();
  const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(t.hub.app.get(MetricsService).registry, name, labels);
  const dev = await enrollDevice(t, admin, 'pg-sup');
  try {
    await dev.online(1);
    const containers = async () => (await t.api<DeviceContainers>('GET', `/api/devices/${dev.id}/containers`, { token: admin })).body;

    // Reports: stored, a stale one ignored, a poisoned one refused alone.
    await dev.report({ apps: { web: { api: status('BACKOFF', { crashLoop: true, restarts: 3 }) } } });
    await until('report', async () => (await containers()).services[0]?.state === 'BACKOFF');
    const stale = await metric('pifleet_supervision_reports_total', { result: 'stale' });
    await dev.report({ ts: Date.now() - 60_000, apps: { web: { api: status('RUNNING') } } });
    await until('stale', async () => (await metric('pifleet_supervision_reports_total', { result: 'stale' })) === stale + 1);
    const rejected = await metric('pifleet_ingest_rejected_total', { stream: 'state', reason: 'db_rejected' });
    await dev.report({ apps: { web: { api: status('RUNNING', { containerId: 'a\u0000' }) } } });
    await until('poisoned report refused', async () => (await metric('pifleet_ingest_rejected_total', { stream: 'state', reason: 'db_rejected' })) === rejected + 1);
    assert.equal((await containers()).services[0]!.state, 'BACKOFF');

    // Alert raised from the crash loop; troubles through the jsonb path filter.
    const open = async () => (await t.api<Alert[]>('GET', `/api/alerts?open=true&device=${dev.id}`, { token: admin })).body;
    await until('crash loop alert', async () => (await open()).some((a) => a.kind === 'crash_loop'));
    const troubles = (await t.api<ServiceRecord[]>('GET', '/api/fleets/default/troubles', { token: admin })).body;
    assert.deepEqual(troubles.map((s) => [s.device, s.service, s.crashLoop]), [['pg-sup', 'api', true]]);

    // Events: the same id twice is stored once; a batch with one poisoned row keeps the others.
    const data = { app: 'web', service: 'api', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: 1 } as const;
    await dev.event(data, { id: 'pg-e1', seq: 1 });
    await dev.event(data, { id: 'pg-e1', seq: 1 });
    const ingest = t.hub.app.get(EventsIngest);
    const raw = (id: string, exitCode: number) =>
      Buffer.from(JSON.stringify({ ...envelope('evt'), id, kind: 'supervision', seq: 2, at: Date.now(), data: { ...data, exitCode } }));
    // Handed over together (as after an ack timeout), so they share one multi-row statement.
    await Promise.all([ingest.onEvent(deviceTopic(dev.id, 'evt/supervision'), raw('pg-e2', 2)), ingest.onEvent(deviceTopic(dev.id, 'evt/supervision'), raw('pg-bad', 2 ** 40)), ingest.onEvent(deviceTopic(dev.id, 'evt/supervision'), raw('pg-e3', 3))]);
    const hist = async () => (await t.api<ServiceEvent[]>('GET', `/api/devices/${dev.id}/services/web/api/history`, { token: admin })).body;
    await until('events stored', async () => (await hist()).length === 3);
    assert.deepEqual((await hist()).map((e) => e.eventId).sort(), ['pg-e1', 'pg-e2', 'pg-e3']);

    // Recovery resolves the alert.
    await dev.report({ apps: { web: { api: status('RUNNING') } } });
    await until('resolved', async () => (await open()).length === 0);

    // Retention's per-service cap on the real server.
    const db = t.hub.app.get<Db>(DB);
    const rows = Array.from({ length: EVENTS_PER_SERVICE + 3 }, (_, i) => ({
      deviceId: dev.id, eventId: `pg-bulk-${i}`, seq: i, app: 'bulk', service: 'svc', fromState: 'RUNNING', toState: 'EXITED', reason: 'exited', at: new Date(Date.now() - 3600_000 + i),
    }));
    for (let i = 0; i < rows.length; i += 500) await db.insert(serviceEvents).values(rows.slice(i, i + 500));
    const kept = async () => (await db.select({ n: count() }).from(serviceEvents).where(eq(serviceEvents.service, 'svc')))[0]!.n;
    const retention = t.hub.app.get(EventsRetention);
    await retention.run(); // the first run after a start trims every service in one pass
    assert.equal(await kept(), EVENTS_PER_SERVICE);
    await db.insert(serviceEvents).values({ ...rows[0]!, eventId: 'pg-bulk-new', at: new Date() });
    retention.grew(dev.id, 'bulk', 'svc');
    await retention.run(); // later runs trim the services that grew
    assert.equal(await kept(), EVENTS_PER_SERVICE);
    assert.deepEqual(await db.select({ id: serviceEvents.eventId }).from(serviceEvents).where(eq(serviceEvents.eventId, 'pg-bulk-3')), []);
  } finally {
    await dev.close();
  }
});
