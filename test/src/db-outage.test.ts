import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from './support/agent-process.js';
import { FlakyLink } from './support/flaky-link.js';
import { HubProcess } from './support/hub-process.js';
import { createTestDatabase } from './support/postgres.js';
import { waitOnline } from './support/scenario.js';
import { sleep, waitFor } from './support/wait.js';

interface Point {
  ts: string;
}

// PostgreSQL goes away under a running hub (server restart, failover): the hub says so on
// /api/health and with 503s, keeps the telemetry it receives in its bounded buffer, and writes it
// once the database is back — no gap in the device's history, and presence catches up.
test('a database outage loses no telemetry and presence catches up afterwards', { timeout: 150_000 }, async (t) => {
  const db = await createTestDatabase(t);
  if (!db) return;
  t.after(() => db.drop());
  const target = new URL(db.url);
  const link = new FlakyLink(Number(target.port || 5432));
  const linkPort = await link.start();
  t.after(() => link.close());
  const viaLink = new URL(db.url);
  viaLink.hostname = '127.0.0.1';
  viaLink.port = String(linkPort);
  const hub = await new HubProcess({ databaseUrl: viaLink.toString() }).start();
  t.after(() => hub.stop());

  const agent = new AgentProcess({ hubUrl: hub.url, token: await hub.createToken(), sampleMs: 500, publishMs: 1000 }).start();
  t.after(() => agent.stop('SIGKILL'));
  const id = await waitFor('identity', () => { try { return agent.identity().deviceId; } catch { return undefined; } }, 20_000);
  await waitOnline(hub, id, true, 15_000);
  const admin = await hub.admin();
  const points = async () => {
    const r = await admin.get<{ points: Point[] }>(`/api/devices/${id}/telemetry?resolution=raw&from=${new Date(Date.now() - 3600_000).toISOString()}`);
    return r.status === 200 ? r.body.points : undefined;
  };
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
  await sleep(5000); // the agent keeps sending; the hub must hold it
  // Presence changes during the outage are applied afterwards: the agent goes away now. What it
  // sampled in its last ~2 s may not have been published yet; everything before must arrive.
  const killedAt = Date.now();
  await agent.stop('SIGKILL');
  await sleep(1000);
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
