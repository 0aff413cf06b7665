import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from './support/agent-process.js';
import { HubProcess } from './support/hub-process.js';
import { startMosquitto } from './support/mosquitto.js';
import { waitOnline } from './support/scenario.js';
import { waitFor } from './support/wait.js';

interface Point {
  ts: string;
}

// The external broker restarts under a running fleet: the hub reports MQTT down meanwhile, the hub
// and the agents reconnect by themselves, and the samples taken while the broker was away arrive
// afterwards (the agent buffers them; telemetry is QoS 1), so the history has no hole.
test('a broker restart loses no telemetry; hub and agent reconnect by themselves', { timeout: 150_000 }, async (t) => {
  const broker = await startMosquitto(t);
  if (!broker) return;
  t.after(() => broker.stop());
  const hub = await new HubProcess({ mqttUrl: broker.url, deviceMqttUrl: broker.deviceUrl }).start();
  t.after(() => hub.stop());
  const agent = new AgentProcess({ hubUrl: hub.url, token: await hub.createToken(), sampleMs: 500, publishMs: 1000 }).start(['--reconnect-max', '1000']); // usually back before the hub (1 s): its backlog must be queued for the hub
  t.after(() => agent.stop('SIGKILL'));
  const id = await waitFor('identity', () => { try { return agent.identity().deviceId; } catch { return undefined; } }, 20_000);
  await waitOnline(hub, id, true, 15_000);
  const admin = await hub.admin();
  const points = async () =>
    (await admin.get<{ points: Point[] }>(`/api/devices/${id}/telemetry?resolution=raw&from=${new Date(Date.now() - 3600_000).toISOString()}`)).body.points;
  await waitFor('telemetry before the outage', async () => (await points()).length >= 3, 20_000, 250);

  // Watch health while the broker is away.
  const seen = new Set<string>();
  let watching = true;
  const watcher = (async () => {
    while (watching) {
      const r = await hub.api.get<{ mqtt: string }>('/api/health').catch(() => undefined);
      if (r) seen.add(`${r.status}:${r.body.mqtt}`);
      await new Promise((res) => setTimeout(res, 200));
    }
  })();
  const outageStart = Date.now();
  await broker.restart(4000);
  const outageEnd = Date.now();
  await waitFor('hub reconnected to the broker', async () => (await hub.api.get('/api/health')).status === 200, 30_000, 250);
  watching = false;
  await watcher;
  assert.ok(seen.has('503:down'), `health reported MQTT down during the outage (saw ${[...seen].join(', ')})`);

  await waitOnline(hub, id, true, 30_000);
  const after = await waitFor('samples from the outage delivered', async () => {
    const p = await points();
    return p.some((x) => Date.parse(x.ts) > outageEnd) ? p : undefined;
  }, 30_000, 250);
  const inWindow = after.map((p) => Date.parse(p.ts)).filter((ts) => ts >= outageStart - 1000 && ts <= outageEnd).sort((a, b) => a - b);
  const rel = after.map((p) => Date.parse(p.ts) - outageStart).sort((a, b) => a - b).filter((x) => x > -5000);
  t.diagnostic(`outage ${outageEnd - outageStart} ms; samples relative to its start: ${rel.join(' ')}`);
  assert.ok(inWindow.length >= 6, `samples taken while the broker was away: ${inWindow.length}`);
  const gaps = inWindow.slice(1).map((ts, i) => ts - inWindow[i]!);
  assert.ok(Math.max(...gaps) <= 1600, `largest gap ${Math.max(...gaps)} ms across the broker outage`);
  assert.ok(agent.child!.running, 'the agent rode it out');
});
