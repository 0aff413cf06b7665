import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from './support/agent-process.js';
import { dashboardShowsOnline } from './support/browser.js';
import { HubProcess } from './support/hub-process.js';
import { deviceLifecycle } from './support/lifecycle.js';
import { waitOnline } from './support/scenario.js';
import { waitFor } from './support/wait.js';

// The hub as `npm start` runs it: embedded PGlite and embedded MQTT broker.
test('device lifecycle end to end on the embedded hub (PGlite + aedes)', { timeout: 180_000 }, async (t) => {
  const hub = await new HubProcess().start();
  t.after(() => hub.stop());
  await deviceLifecycle(t, hub, {
    keepaliveS: 2,
    // The operator sees it too: headless Chromium, screenshot kept in test-artifacts/.
    whileOnline: (_id, name) => dashboardShowsOnline(t, hub.url, hub.adminPassword, name, 'e2e-embedded-online'),
  });
});

test('agents come back within 30 s after a hub restart, without duplicate devices', { timeout: 180_000 }, async (t) => {
  const hub = await new HubProcess().start();
  t.after(() => hub.stop());
  const token = await hub.createToken({ maxUses: 2 });
  const agents = [new AgentProcess({ hubUrl: hub.url, token, name: 'r1' }).start(), new AgentProcess({ hubUrl: hub.url, token, name: 'r2' }).start()];
  t.after(() => Promise.all(agents.map((a) => a.stop('SIGKILL'))));
  const ids = await Promise.all(agents.map((a) => waitFor('identity', () => { try { return a.identity().deviceId; } catch { return undefined; } }, 20_000)));
  for (const id of ids) await waitOnline(hub, id, true, 15_000);

  const t0 = Date.now();
  await hub.restart();
  for (const id of ids) await waitOnline(hub, id, true, 30_000);
  const backMs = Date.now() - t0;
  t.diagnostic(`both agents online again ${backMs} ms after the hub restart began`);
  assert.ok(backMs < 30_000);
  const admin = await hub.admin();
  const list = await admin.get<{ id: string }[]>('/api/devices');
  assert.equal(list.body.length, 2, 'no duplicate devices');
  assert.deepEqual(list.body.map((d) => d.id).sort(), [...ids].sort());
  for (const a of agents) assert.ok(a.child!.running, 'agents kept running through the restart');
});
