import { test } from 'node:test';
import { dashboardShowsOnline } from './support/browser.js';
import { HubProcess } from './support/hub-process.js';
import { deviceLifecycle } from './support/lifecycle.js';
import { productionServices } from './support/production-services.js';

// The production shape: a real Mosquitto 2 (dynamic-security plugin managed by the hub) and a
// real PostgreSQL server, switched on by MQTT_URL and DATABASE_URL alone.
test('device lifecycle end to end with external Mosquitto and real PostgreSQL', { timeout: 180_000 }, async (t) => {
  const services = await productionServices(t);
  if (!services) return;
  const { db, broker } = services;
  const hub = await new HubProcess({
    databaseUrl: db.url,
    mqttUrl: broker.url,
    deviceMqttUrl: `mqtt://127.0.0.1:${broker.port}`,
  }).start();
  t.after(() => hub.stop());
  await deviceLifecycle(t, hub, {
    keepaliveS: 2,
    // The operator sees it too: headless Chromium, screenshot kept in test-artifacts/.
    whileOnline: (_id, name) => dashboardShowsOnline(t, hub.url, hub.adminPassword, name, 'e2e-external-online'),
  });
});
