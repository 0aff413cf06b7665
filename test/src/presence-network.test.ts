import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AgentProcess } from './support/agent-process.js';
import { FlakyLink } from './support/flaky-link.js';
import { HubProcess } from './support/hub-process.js';
import { device, waitOnline } from './support/scenario.js';
import { freePort, sleep, waitFor } from './support/wait.js';

// A Pi whose uplink dies silently (no FIN, no RST: a power cut or a dead modem) can only be
// noticed through MQTT keepalive. The hub must call it offline within keepalive × 1.5, and when
// the link comes back the device must come online again — with a newer session, so the Will of
// the dead connection cannot knock it offline later.
test('a device whose network dies silently is offline within keepalive × 1.5 and returns when it heals', { timeout: 120_000 }, async (t) => {
  const hub = new HubProcess();
  hub.mqttPort = await freePort();
  const link = new FlakyLink(hub.mqttPort);
  const linkPort = await link.start();
  t.after(() => link.close());
  hub.opts.env = { PIFLEET_DEVICE_MQTT_URL: `mqtt://127.0.0.1:${linkPort}` };
  await hub.start();
  t.after(() => hub.stop());

  const keepaliveS = 2;
  const agent = new AgentProcess({ hubUrl: hub.url, token: await hub.createToken(), keepalive: keepaliveS }).start(['--reconnect-max', '1000']);
  t.after(() => agent.stop('SIGKILL'));
  const id = await waitFor('identity', () => { try { return agent.identity().deviceId; } catch { return undefined; } }, 20_000);
  await waitOnline(hub, id, true, 15_000);
  await sleep(1000);

  link.down();
  const offlineMs = await waitOnline(hub, id, false, 15_000);
  t.diagnostic(`offline ${offlineMs} ms after the link went silent (keepalive ${keepaliveS} s)`);
  assert.ok(offlineMs <= keepaliveS * 1500 + 1000, `offline after ${offlineMs} ms; bound ${keepaliveS * 1500} ms (+1 s polling)`);

  link.up();
  await waitOnline(hub, id, true, 20_000);
  // Stays online: no late Will from the dead connection flips it back.
  await sleep(keepaliveS * 2000);
  const d = await device(hub, id);
  assert.equal(d.online, true, 'still online after the old connection is long gone');
  assert.ok(agent.child!.running);
});
