import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { after, before, test } from 'node:test';
import pg from 'pg';
import type { DeviceContainers, ServiceEvent } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { enrollDevice, status, type TestDevice } from './supervision-test-kit.js';

// The hub on a real PostgreSQL reached through a relay this test cuts: what devices send while
// the database is away is held (acknowledged once it is in the hub's bounded queue) and stored,
// once and complete, when the database is back.

const SERVER_URL = process.env['DATABASE_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** A TCP relay to the database: cut() resets every connection and refuses new ones until up(). */
class Relay {
  private server?: Server;
  private readonly sockets = new Set<Socket>();
  private isCut = false;
  port = 0;
  constructor(private readonly target: { host: string; port: number }) {}
  async start(): Promise<void> {
    this.server = createServer((inbound) => {
      if (this.isCut) return void inbound.destroy();
      const outbound = createConnection(this.target);
      for (const s of [inbound, outbound]) {
        this.sockets.add(s);
        s.on('error', () => undefined);
        s.on('close', () => {
          this.sockets.delete(s);
          inbound.destroy();
          outbound.destroy();
        });
      }
      inbound.pipe(outbound).pipe(inbound);
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as { port: number }).port;
  }
  cut(): void {
    this.isCut = true;
    for (const s of this.sockets) s.destroy();
  }
  up(): void {
    this.isCut = false;
  }
  async stop(): Promise<void> {
    this.cut();
    await new Promise((r) => this.server?.close(r));
  }
}

const dbName = `pifleet_t_${randomBytes(6).toString('hex')}`;
let reachable = false;
let relay: Relay | undefined;
let t: TestHub | undefined;
let dev: TestDevice | undefined;

async function onServer(sql: string): Promise<void> {
  const c = new pg.Client({ connectionString: SERVER_URL, connectionTimeoutMillis: 3000 });
  await c.connect();
  try {
    await c.query(sql);
  } finally {
    await c.end();
  }
}

before(async () => {
  try {
    await onServer(`create database ${dbName}`);
    reachable = true;
  } catch {
    return;
  }
  const server = new URL(SERVER_URL);
  relay = new Relay({ host: server.hostname, port: Number(server.port || 5432) });
  await relay.start();
  const via = new URL(SERVER_URL);
  via.host = `127.0.0.1:${relay.port}`;
  via.pathname = `/${dbName}`;
  t = await startTestHub({ databaseUrl: via.toString() });
});
after(async () => {
  await dev?.close();
  await t?.close();
  await relay?.stop();
  if (reachable) await onServer(`drop database if exists ${dbName} with (force)`);
});

test('events and reports sent while the database is away are stored, once each, when it is back', async (ctx) => {
  if (!t || !relay) {
    if (process.env['PIFLEET_TEST_STRICT'] === '1') throw new Error('strict mode: PostgreSQL not reachable');
    return ctx.skip('PostgreSQL not reachable (install: apt-get install postgresql, or set DATABASE_URL)');
  }
  const hub = t;
  const admin = await hub.login();
  dev = await enrollDevice(hub, admin, 'pi-outage');
  const d = dev;
  await d.online(1);
  await d.report({ apps: { web: { api: status('RUNNING') } } });
  const containers = async () => (await hub.api<DeviceContainers>('GET', `/api/devices/${d.id}/containers`, { token: admin })).body;
  await until('first report', async () => (await containers()).services.length === 1);
  const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(hub.hub.app.get(MetricsService).registry, name, labels);
  const storedBefore = await metric('pifleet_supervision_events_stored_total');

  relay.cut();
  // QoS 1 publishes resolve on PUBACK: each returns once the hub holds the event, not stored yet.
  const ids: string[] = [];
  for (let i = 0; i < 6; i++) {
    ids.push(await d.event({ app: 'web', service: 'api', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: 1, restarts: i + 1 }, { id: `outage-${i}`, seq: 10 + i }));
  }
  // One sent twice meanwhile (a redelivery): still stored once.
  await d.event({ app: 'web', service: 'api', from: 'RUNNING', to: 'BACKOFF', reason: 'exited', exitCode: 1, restarts: 1 }, { id: 'outage-0', seq: 10 });
  await d.report({ apps: { web: { api: status('BACKOFF', { crashLoop: true, restarts: 6 }) } } });
  assert.ok((await metric('pifleet_supervision_write_errors_total', { op: 'events' })) >= 1, 'the writes failed while the database was away');
  assert.equal(await metric('pifleet_supervision_events_stored_total'), storedBefore);

  relay.up();
  await until('events stored after the outage', async () => (await metric('pifleet_supervision_events_stored_total')) === storedBefore + 6, 30_000);
  const hist = (await hub.api<ServiceEvent[]>('GET', `/api/devices/${d.id}/services/web/api/history`, { token: admin })).body;
  assert.deepEqual(hist.map((e) => e.eventId).sort(), [...ids].sort());
  await until('report stored after the outage', async () => (await containers()).services[0]?.state === 'BACKOFF', 30_000);
  await until('its alert raised', async () => (await hub.api('GET', `/api/alerts?open=true&device=${d.id}`, { token: admin })).body.length === 1, 30_000);
});
