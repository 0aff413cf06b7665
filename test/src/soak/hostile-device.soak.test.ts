import assert from 'node:assert/strict';
import { connect as tcpConnect } from 'node:net';
import { test } from 'node:test';
import { sql } from 'drizzle-orm';
import mqtt, { type MqttClient } from 'mqtt';
import { deviceTopic, envelope } from '@pifleet/protocol';
import { openDatabase, type DbHandle } from '../../../hub/dist/db/client.js';
import { procSample } from '../bench/lib/proc-stats.js';
import { sampleRow, statusPayload, telemetryPayload } from '../support/device-client.js';
import { HubProcess } from '../support/hub-process.js';
import { tempDir } from '../support/paths.js';
import { sleep, waitFor } from '../support/wait.js';

/**
 * 200 well-behaved simulated devices and one hostile device that cycles through every poison
 * input and flood, against one hub process (PGlite + embedded aedes) for PIFLEET_SOAK_MS (5 min
 * by default). Passes when every well-behaved row is written, rollups and retention keep
 * advancing, the hub's RSS stays bounded and /api/health stays fast (p99 < 200 ms).
 *
 * Runs after the other suites, on its own, so its latency figures are the hub's and not the
 * neighbours'.
 */
const SOAK_MS = Number(process.env['PIFLEET_SOAK_MS'] ?? 300_000);
const GOOD = 200;
const SAMPLE_EVERY_MS = 5000;
const MIN = 60_000;
const t00 = Date.now();
/** Progress on stderr, so a stuck soak says where it is. */
const step = (what: string) => process.stderr.write(`[soak +${((Date.now() - t00) / 1000).toFixed(0)} s] ${what}\n`);
const POISON_DEVICE = 'oldpoison001';
const OLD_DEVICE = 'oldhistory01';

interface Cred {
  id: string;
  url: string;
  username: string;
  password: string;
}

async function rows(h: DbHandle, q: ReturnType<typeof sql>): Promise<Record<string, unknown>[]> {
  return ((await h.db.execute(q)) as unknown as { rows: Record<string, unknown>[] }).rows;
}

function connectDevice(c: Cred): Promise<MqttClient> {
  return mqtt.connectAsync(c.url, { clientId: c.id, username: c.username, password: c.password, reconnectPeriod: 0, connectTimeout: 20_000, keepalive: 30 });
}

/** Every poison input the hub has met, one after the other, until `stop` is set. */
async function hostileLoop(c: Cred, port: number, state: { stop: boolean; cycles: number; reconnects: number }): Promise<void> {
  let client = await connectDevice(c);
  const pub = async (leaf: string, payload: string | Buffer, retain = false, qos: 0 | 1 = 0) => {
    if (!client.connected) {
      client.end(true);
      state.reconnects++;
      for (let attempt = 0; ; attempt++) {
        try {
          client = await connectDevice(c);
          break;
        } catch (err) {
          if (attempt >= 20 || state.stop) throw err;
          await sleep(500);
        }
      }
    }
    // A publish on a connection the broker just cut would wait forever (mqtt.js queues it).
    await Promise.race([client.publishAsync(deviceTopic(c.id, leaf), payload, { qos, retain }).catch(() => undefined), sleep(2000)]);
  };
  const delta = (dt: number, at?: number, v?: number) => Array.from({ length: 16 }, (_, i) => (i === 0 ? dt : i === at ? v! : 0));
  let session = 1;
  while (!state.stop) {
    const now = Date.now();
    await pub('telemetry', telemetryPayload([sampleRow(3000, { throttled: 1.5 }), delta(-1000, 10, 3e9), delta(-1000, 11, 1e308), delta(-1000, 11, 1e308)]));
    await pub('telemetry', telemetryPayload([sampleRow(0, { cpu: -5000, temp: 99_999_990 })]));
    await pub('telemetry', telemetryPayload([sampleRow(0)], 0));
    await pub('telemetry', telemetryPayload([sampleRow(0)], now + 365 * 24 * 3600_000));
    await pub('telemetry', '{"truncated":');
    await pub('telemetry', JSON.stringify({ ...envelope('telemetry'), samples: 'nope' }));
    await pub('status', statusPayload('online', session++, { hostname: `evil\u0000${session}\ud800` }), true);
    // A flood: 20 messages of 500 rows at once.
    for (let m = 0; m < 20; m++) {
      const batch = Array.from({ length: 500 }, (_, i) => (i === 0 ? sampleRow(m * 500 + 499 + 100) : delta(-1)));
      void pub('telemetry', telemetryPayload(batch, now));
    }
    // Retained messages of 250 KB under its own subtree.
    for (let i = 0; i < 40; i++) await pub(`junk/${state.cycles % 20}/${i}`, Buffer.alloc(250 * 1024, 120), true);
    // An oversized payload (the broker cuts the connection; we come back).
    await pub('telemetry', Buffer.alloc(300 * 1024, 123));
    // A socket announcing a 268 MB CONNECT and streaming into it, before any authentication.
    await new Promise<void>((resolve) => {
      const s = tcpConnect(port, '127.0.0.1', () => {
        s.write(Buffer.from([0x10, 0xff, 0xff, 0xff, 0x7f]));
        const chunk = Buffer.alloc(64 * 1024, 0x41);
        let sent = 0;
        const pump = () => {
          while (sent < 16 && s.writable && s.write(chunk)) sent++;
          if (sent >= 16 || !s.writable) s.destroy();
        };
        s.on('drain', pump);
        pump();
      });
      s.on('error', () => undefined);
      s.on('close', () => resolve());
      setTimeout(() => s.destroy(), 2000).unref();
    });
    state.cycles++;
    if (state.cycles % 10 === 1) step(`hostile cycle ${state.cycles}`);
    await sleep(500);
  }
  client.end(true);
}

test('soak: 200 good devices and one hostile device for 5 minutes', { timeout: SOAK_MS + 300_000 }, async (t) => {
  const dataDir = tempDir('soak');
  // What an older hub could have stored: two 1e308 in one minute, and rows past raw retention.
  const seed = await openDatabase({ dataDir });
  const poisonMinute = Math.floor(Date.now() / MIN) * MIN - 3 * MIN;
  await seed.db.execute(sql`INSERT INTO telemetry_raw (device_id, ts, net_rx) VALUES
    (${POISON_DEVICE}, ${new Date(poisonMinute + 1000).toISOString()}::timestamptz, 1e308),
    (${POISON_DEVICE}, ${new Date(poisonMinute + 2000).toISOString()}::timestamptz, 1e308)`);
  for (let i = 0; i < 100; i++) {
    await seed.db.execute(sql`INSERT INTO telemetry_raw (device_id, ts, cpu) VALUES (${OLD_DEVICE}, ${new Date(Date.now() - 25 * 3600_000 - i * MIN).toISOString()}::timestamptz, 1)`);
  }
  await seed.close();

  step('seeded; starting the hub');
  const hub = await new HubProcess({ dataDir, env: { PIFLEET_LOG_LEVEL: 'error' } }).start();
  t.after(() => hub.stop());
  const admin = await hub.admin();
  const token = (await admin.post<{ token: string }>('/api/tokens', { maxUses: GOOD + 1, ttlSeconds: 3600 })).body.token;
  const enroll = async (name: string): Promise<Cred> => {
    const r = await hub.api.post<{ deviceId: string; mqtt: { url: string; username: string; password: string } }>('/api/enroll', {
      token, name, publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAISoakKeySoakKeySoakKeySoakKeySoakKey0 soak', info: { hostname: name },
    });
    assert.ok(r.status === 200 || r.status === 201, JSON.stringify(r.body));
    return { id: r.body.deviceId, url: r.body.mqtt.url, username: r.body.mqtt.username, password: r.body.mqtt.password };
  };
  const creds: Cred[] = [];
  for (let i = 0; i < GOOD; i++) creds.push(await enroll(`good-${i}`));
  const hostile = await enroll('hostile');
  step('enrolled; connecting');
  const clients: MqttClient[] = [];
  for (const c of creds) clients.push(await connectDevice(c));
  step('connected; soaking');
  t.after(() => Promise.all(clients.map((c) => c.endAsync(true))));

  // Good devices: one sample each every 5 s, QoS 1; a row counts as sent when the broker acked it.
  const acked = new Map<string, number>(creds.map((c) => [c.id, 0]));
  let cursor = 0;
  const tickMs = 100;
  const perTick = Math.ceil((GOOD * tickMs) / SAMPLE_EVERY_MS);
  const goodTimer = setInterval(() => {
    for (let k = 0; k < perTick; k++) {
      const i = cursor++ % GOOD;
      const c = clients[i]!;
      const id = creds[i]!.id;
      c.publishAsync(deviceTopic(id, 'telemetry'), telemetryPayload([sampleRow(0, { cpu: 100 + (cursor % 800) })]), { qos: 1 }).then(
        () => acked.set(id, acked.get(id)! + 1),
        () => undefined,
      );
    }
  }, tickMs);

  // Health probe and RSS, all along.
  const latencies: number[] = [];
  let probeErrors = 0;
  const rss: number[] = [];
  const pid = hub.child!.proc.pid!;
  let probing = true;
  const probe = (async () => {
    while (probing) {
      const t0 = performance.now();
      const ok = await fetch(`${hub.url}/api/health`, { signal: AbortSignal.timeout(5000) }).then((r) => r.status === 200, () => false);
      latencies.push(performance.now() - t0);
      if (!ok) probeErrors++;
      rss.push(procSample(pid).rssB / 2 ** 20);
      await sleep(100);
    }
  })();

  const state = { stop: false, cycles: 0, reconnects: 0 };
  const attack = hostileLoop(hostile, hub.mqttPort, state);
  const startedAt = Date.now();
  await sleep(SOAK_MS);
  state.stop = true;
  clearInterval(goodTimer);
  step(`stopping the attack after ${state.cycles} cycles`);
  await attack;
  probing = false;
  await probe;
  step('draining');

  // Let the hub drain what it has, then stop it and read its database.
  await waitFor('hub buffer drained', async () => {
    const m = (await admin.get<string>('/metrics')).body;
    return /pifleet_telemetry_buffer_rows 0\b/.test(m);
  }, 60_000, 500);
  const dropsOfHostile = (await admin.get<{ stream: string; reason: string; count: number }[]>(`/api/devices/${hostile.id}/drops`)).body;
  const goodDrops = await Promise.all(creds.slice(0, 20).map(async (c) => (await admin.get<unknown[]>(`/api/devices/${c.id}/drops`)).body.length));
  await hub.stop();
  step('hub stopped; checking its database');

  const db = await openDatabase({ dataDir });
  t.after(() => db.close());
  const stored = new Map((await rows(db, sql`SELECT device_id, count(*)::int AS n FROM telemetry_raw GROUP BY device_id`)).map((r) => [String(r['device_id']), Number(r['n'])]));
  const sent = [...acked.values()].reduce((a, b) => a + b, 0);
  const missing = creds.filter((c) => (stored.get(c.id) ?? 0) !== acked.get(c.id));
  const minutes = Number((await rows(db, sql`SELECT count(DISTINCT minute)::int AS n FROM telemetry_1m WHERE device_id = ${creds[0]!.id}`))[0]!['n']);
  const poison = await rows(db, sql`SELECT net_rx FROM telemetry_1m WHERE device_id = ${POISON_DEVICE}`);
  const wm = new Date(((await rows(db, sql`SELECT value FROM settings WHERE key = 'telemetry.rollup_watermark'`))[0]!['value'] as { ts: string }).ts).getTime();

  const sorted = [...latencies].sort((a, b) => a - b);
  const p = (q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
  const summary = {
    soakS: SOAK_MS / 1000,
    hostileCycles: state.cycles,
    hostileReconnects: state.reconnects,
    goodRowsSent: sent,
    goodRowsStored: creds.reduce((a, c) => a + (stored.get(c.id) ?? 0), 0),
    devicesWithMissingRows: missing.length,
    rollupMinutesOfOneGoodDevice: minutes,
    health: { probes: latencies.length, errors: probeErrors, p50: p(0.5).toFixed(1), p99: p(0.99).toFixed(1), max: sorted.at(-1)!.toFixed(1) },
    rssMB: { first: rss[0]!.toFixed(0), peak: Math.max(...rss).toFixed(0), last: rss.at(-1)!.toFixed(0) },
    hostileDrops: Object.fromEntries(dropsOfHostile.map((d) => [`${d.stream}/${d.reason}`, d.count])),
  };
  console.log(`soak summary: ${JSON.stringify(summary)}`);

  assert.ok(sent > GOOD * (SOAK_MS / SAMPLE_EVERY_MS) * 0.9, `good devices sent as planned (${sent})`);
  assert.equal(missing.length, 0, `every acknowledged good row is stored (${missing.length} devices differ)`);
  assert.deepEqual(goodDrops, Array(20).fill(0), 'nothing of a good device was dropped');
  assert.ok(minutes >= Math.floor(SOAK_MS / MIN) - 1, `rollups advanced every minute (${minutes} minutes for one device)`);
  assert.ok(wm >= startedAt + SOAK_MS - 2 * MIN, 'the rollup watermark kept up');
  assert.equal(poison.length, 1, 'the minute with stored 1e308 values was rolled up (clamped)');
  assert.equal(stored.get(OLD_DEVICE) ?? 0, 0, 'retention deleted the rows past 24 h');
  assert.ok(state.cycles >= 3, `the hostile device went through its poison list (${state.cycles} cycles)`);
  for (const reason of ['telemetry/range', 'telemetry/too_old', 'telemetry/future', 'telemetry/not-json', 'telemetry/invalid', 'telemetry/rate_rows']) {
    assert.ok((summary.hostileDrops[reason] ?? 0) > 0, `hostile drops counted for ${reason}`);
  }
  assert.equal(probeErrors, 0, 'every health probe answered 200');
  assert.ok(p(0.99) < 200, `/api/health p99 ${p(0.99).toFixed(1)} ms < 200 ms`);
  assert.ok(Math.max(...rss) < 700, `hub RSS stays bounded (peak ${Math.max(...rss).toFixed(0)} MB)`);
});
