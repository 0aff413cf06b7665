import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { metricValue } from './bench/lib/proc-stats.js';
import { AgentProcess } from './support/agent-process.js';
import type { Api } from './support/api.js';
import { FlakyLink } from './support/flaky-link.js';
import { HubProcess } from './support/hub-process.js';
import { startMosquitto } from './support/mosquitto.js';
import { createTestDatabase } from './support/postgres.js';
import { waitOnline } from './support/scenario.js';
import { waitFor } from './support/wait.js';

interface Point {
  ts: string;
}

/** A fresh database on the real server, reached through a FlakyLink the test can cut and heal. */
async function postgresBehindLink(t: TestContext): Promise<{ link: FlakyLink; viaLink: URL } | undefined> {
  const db = await createTestDatabase(t);
  if (!db) return undefined;
  t.after(() => db.drop());
  const link = new FlakyLink(Number(new URL(db.url).port || 5432));
  const linkPort = await link.start();
  t.after(() => link.close());
  const viaLink = new URL(db.url);
  viaLink.hostname = '127.0.0.1';
  viaLink.port = String(linkPort);
  return { link, viaLink };
}

/** A real agent sampling every 500 ms and publishing every second, online; `points` reads its last hour. */
async function reportingAgent(t: TestContext, hub: HubProcess) {
  const agent = new AgentProcess({ hubUrl: hub.url, token: await hub.createToken(), sampleMs: 500, publishMs: 1000 }).start();
  t.after(() => agent.stop('SIGKILL'));
  const id = await waitFor('identity', () => { try { return agent.identity().deviceId; } catch { return undefined; } }, 20_000);
  await waitOnline(hub, id, true, 15_000);
  const admin = await hub.admin();
  const points = async () => {
    const r = await admin.get<{ points: Point[] }>(`/api/devices/${id}/telemetry?resolution=raw&from=${new Date(Date.now() - 3600_000).toISOString()}`);
    return r.status === 200 ? r.body.points : undefined;
  };
  return { agent, id, admin, points };
}

// PostgreSQL goes away under a running hub (server restart, failover): the hub says so on
// /api/health and with 503s, keeps the telemetry it receives in its bounded buffer, and writes it
// once the database is back — no gap in the device's history, and presence catches up.
test('a database outage loses no telemetry and presence catches up afterwards', { timeout: 150_000 }, async (t) => {
  const pg = await postgresBehindLink(t);
  if (!pg) return;
  const { link, viaLink } = pg;
  const hub = await new HubProcess({ databaseUrl: viaLink.toString() }).start();
  t.after(() => hub.stop());

  const { agent, id, admin, points } = await reportingAgent(t, hub);
  await waitFor('telemetry before the outage', async () => ((await points())?.length ?? 0) >= 3, 20_000, 250);

  const outageStart = Date.now();
  link.cut();
  const health = await waitFor('health reports the database down', async () => {
    const r = await hub.api.get<{ db: string; status: string }>('/api/health');
    return r.status === 503 && r.body.db === 'down' ? r.body : undefined;
  }, 15_000, 250);
  assert.equal(health.status, 'degraded');
  const during = await admin.get<{ code: string }>('/api/devices');
  assert.equal(during.status, 503, `API answers 503 while the database is away, got ${during.status} ${JSON.stringify(during.body)}`);
  assert.equal(during.body.code, 'unavailable');
  // The agent keeps sending and the hub must hold it: wait until the hub has failed to write the
  // telemetry it holds four times, as its log says (at least 0.5 + 1 + 2 + 4 s of jittered backoff:
  // several seconds of samples taken during the outage).
  const logged = (line: string) => hub.child!.output.split(line).length - 1;
  const failedWrites = logged('telemetry write failed');
  await waitFor('the hub holding telemetry through the outage', () => logged('telemetry write failed') >= failedWrites + 4, 30_000, 100);
  // Presence changes during the outage are applied afterwards: the agent goes away now. What it
  // sampled in its last ~2 s may not have been published yet; everything before must arrive.
  const failedPresence = logged('presence update failed');
  const killedAt = Date.now();
  await agent.stop('SIGKILL');
  // Its Will reaches the hub, which cannot store it yet.
  await waitFor('the offline status held by the hub', () => logged('presence update failed') > failedPresence, 30_000, 100);
  link.up();
  const lastSure = killedAt - 2500;

  await waitFor('health ok again', async () => (await hub.api.get('/api/health')).status === 200, 30_000, 250);
  const after = await waitFor('telemetry from the outage written', async () => {
    const p = await points();
    return p && p.some((x) => Date.parse(x.ts) >= lastSure) ? p : undefined;
  }, 30_000, 250);
  // No hole: consecutive samples within the outage window are at most ~2 sample periods apart.
  const inWindow = after.map((p) => Date.parse(p.ts)).filter((ts) => ts >= outageStart - 2000 && ts <= lastSure).sort((a, b) => a - b);
  assert.ok(inWindow.length >= 8, `samples from the outage window: ${inWindow.length}`);
  const gaps = inWindow.slice(1).map((ts, i) => ts - inWindow[i]!);
  assert.ok(Math.max(...gaps) <= 1600, `largest gap ${Math.max(...gaps)} ms between samples across the outage`);
  await waitOnline(hub, id, false, 15_000);
});

/** One metric from the hub's /metrics, summed over the label sets that carry `labels`. */
async function hubMetric(api: Api, name: string, labels: Record<string, string> = {}): Promise<number> {
  const r = await api.get<string>('/metrics');
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const lines = String(r.body).split('\n').filter((l) => (l.startsWith(name + '{') || l.startsWith(name + ' ')) && want.every((w) => l.includes(w)));
  const values = lines.map((l) => metricValue(l, name)).filter((v) => !Number.isNaN(v));
  return values.reduce((a, b) => a + b, 0);
}

// The production shape with a buffer of 6 rows (3 s of this agent) and an outage several times
// longer: the hub stops acknowledging telemetry it cannot hold, Mosquitto keeps it in the hub's
// persistent session, and once PostgreSQL is back every sample arrives. Nothing is dropped.
test('with a small buffer, an outage longer than it holds loses no telemetry: Mosquitto queues what the hub did not acknowledge', { timeout: 150_000 }, async (t) => {
  const pg = await postgresBehindLink(t);
  if (!pg) return;
  const { link, viaLink } = pg;
  const broker = await startMosquitto(t);
  if (!broker) return;
  t.after(() => broker.stop());
  const hub = await new HubProcess({
    databaseUrl: viaLink.toString(),
    mqttUrl: broker.url,
    deviceMqttUrl: broker.deviceUrl,
    env: { PIFLEET_TELEMETRY_BUFFER_ROWS: '6' },
  }).start();
  t.after(() => hub.stop());

  const { agent, admin, points } = await reportingAgent(t, hub);
  const first = await waitFor('telemetry before the outage', async () => {
    const p = await points();
    return p && p.length >= 3 ? p : undefined;
  }, 20_000, 250);
  const firstTs = Math.min(...first.map((p) => Date.parse(p.ts)));

  const outageStart = Date.now();
  link.cut();
  // The API (and /metrics, behind login) answers 503 meanwhile: the hub's log tells what it does.
  const log = () => hub.child?.output ?? '';
  await waitFor('the buffer full and a message waiting for room', () => log().includes('telemetry buffer full'), 30_000, 200);
  // A message held past the ack bound: by then the agent has sent far more than the buffer holds,
  // and all of it after the held message is in Mosquitto, unacknowledged.
  await waitFor('a message held for the longest ack hold', () => log().includes('message acknowledged anyway'), 30_000, 200);
  const killedAt = Date.now();
  await agent.stop('SIGKILL');
  link.up();
  // What the agent sampled in its last ~2 s may not have been published; everything before must arrive.
  const lastSure = killedAt - 2500;
  console.log(`# outage ${Date.now() - outageStart} ms with a 6-row buffer`);

  const after = await waitFor('telemetry from the outage written', async () => {
    const p = await points();
    return p && p.some((x) => Date.parse(x.ts) >= lastSure) ? p : undefined;
  }, 60_000, 250);
  const ts = after.map((p) => Date.parse(p.ts)).filter((x) => x >= firstTs && x <= lastSure).sort((a, b) => a - b);
  assert.ok(ts.length >= 2 * ((lastSure - outageStart) / 1000), `samples from the outage window: ${ts.length}`);
  const gaps = ts.slice(1).map((x, i) => x - ts[i]!);
  assert.ok(Math.max(...gaps) <= 1600, `largest gap ${Math.max(...gaps)} ms between samples across the outage`);
  assert.equal(await hubMetric(admin, 'pifleet_ingest_rejected_total', { reason: 'buffer_full' }), 0);
  assert.ok((await hubMetric(admin, 'pifleet_mqtt_ack_timeouts_total')) >= 1);
  await waitFor('nothing left waiting', async () => (await hubMetric(admin, 'pifleet_telemetry_buffer_waiting')) === 0, 30_000, 250);
});
