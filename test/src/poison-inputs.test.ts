import assert from 'node:assert/strict';
import { test, type TestContext } from 'node:test';
import { sql } from 'drizzle-orm';
import { startTestHub, type TestHub } from '@pifleet/hub/testing';
// Hub internals the scenario reaches into: its database (to plant rows an older hub could have
// stored) and the telemetry job (to run a rollup now instead of waiting for the minute timer).
import { DB } from '../../hub/dist/common/tokens.js';
import type { Db } from '../../hub/dist/db/client.js';
import { TelemetryService } from '../../hub/dist/telemetry/telemetry.service.js';
import { enrollRawDevice, hubMetric, rawPoints, sampleRow, statusPayload, telemetryPayload, waitForPoints, type RawDevice } from './support/device-client.js';
import { productionServices } from './support/production-services.js';
import { waitFor } from './support/wait.js';

const MIN = 60_000;

interface Drop {
  stream: string;
  reason: string;
  count: number;
}

async function drops(h: TestHub, token: string, id: string): Promise<Map<string, number>> {
  const r = await h.api<Drop[]>('GET', `/api/devices/${id}/drops`, { token });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return new Map(r.body.map((d) => [`${d.stream}/${d.reason}`, d.count]));
}

async function rows(db: Db, query: ReturnType<typeof sql>): Promise<Record<string, unknown>[]> {
  return ((await db.execute(query)) as unknown as { rows: Record<string, unknown>[] }).rows;
}

/**
 * One hostile device sends every poison input found in the hub's data path; a good device keeps
 * reporting beside it. The good device must lose nothing and wait for nothing; the hostile one's
 * bad values are dropped or nulled and counted per device and reason, never retried.
 */
async function poisonScenario(h: TestHub): Promise<{ good: RawDevice; bad: RawDevice; token: string }> {
  const token = await h.login();
  const good = await enrollRawDevice(h, token, 'good-pi');
  const bad = await enrollRawDevice(h, token, 'bad-pi');
  const written0 = await hubMetric(h, token, 'pifleet_telemetry_rows_written_total');

  // Finding: a NUL in a hostname stalled every presence write (jsonb refuses it; retried forever).
  await bad.publish('status', statusPayload('online', 1, { hostname: 'evil\u0000pi\ud800', arch: 'arm64' }), { retain: true });
  // Finding: non-integers and values past int4 stalled all telemetry writes; absurd values were stored.
  const first = sampleRow(30_000, { throttled: 1.5 });
  const second = sampleRow(20_000, { throttled: 3_000_000_000, cpu: -5000, temp: 99_999_990 });
  const delta = (dt: number, at?: number, v?: number) => Array.from({ length: 16 }, (_, i) => (i === 0 ? dt : i === at ? v! : 0));
  await bad.publish('telemetry', telemetryPayload([
    first,
    second.map((v, i) => v - first[i]!),
    delta(-10_000, 11, 1e308), // netRx 1e308 on top of the last
    delta(-10_000, 11, 1e308), // ... and again: Infinity after decoding
  ]));
  // Finding: samples dated at the epoch or a year ahead vanished without a count.
  await bad.publish('telemetry', telemetryPayload([sampleRow(0)], 0));
  await bad.publish('telemetry', telemetryPayload([sampleRow(0)], Date.now() + 365 * 24 * 3600_000));
  await bad.publish('telemetry', '{"not": "telemetry"');

  // The good device, after all that: online and stored at once.
  await good.publish('status', statusPayload('online', 1, { hostname: 'good-pi' }), { retain: true });
  const t0 = Date.now();
  await good.publish('telemetry', telemetryPayload([sampleRow(2000), delta(-1000), delta(-1000)]));
  await waitForPoints(h, token, good.id, 3, 'the good device\'s 3 samples');
  await waitFor('good device online', async () => (await h.api('GET', `/api/devices/${good.id}`, { token })).body.online === true);
  assert.ok(Date.now() - t0 < 10_000, 'the good device waited behind the hostile one');
  assert.ok((await hubMetric(h, token, 'pifleet_telemetry_rows_written_total')) >= written0 + 3);

  // The hostile device's rows that had a valid time are stored, bad values as null.
  const pts = await waitForPoints(h, token, bad.id, 4, 'the hostile device\'s valid-time rows');
  assert.equal(pts.length, 4);
  assert.equal(pts[0]!['throttled'], null, 'throttled 1.5 is not a bitmask');
  assert.equal(pts[1]!['throttled'], null, 'throttled 3e9 is past int4');
  assert.equal(pts[1]!['cpu'], null, 'cpu -500 %');
  assert.equal(pts[1]!['temp'], null, 'temp 9,999,999 °C');
  assert.equal(pts[0]!['cpu'], 12, 'the other fields of a row with a bad value are kept');
  assert.equal(pts[2]!['netRx'], null, 'netRx 1e308');
  assert.equal(pts[3]!['netRx'], null, 'Infinity after delta decoding');
  const dev = await waitFor('hostile device online', async () => {
    const r = await h.api('GET', `/api/devices/${bad.id}`, { token });
    return r.body.online === true ? r.body : undefined;
  });
  assert.equal(dev.info.hostname, 'evilpi\ufffd', 'NUL removed, lone surrogate replaced');

  const d = await waitFor('drops counted', async () => {
    const m = await drops(h, token, bad.id);
    return (m.get('telemetry/range') ?? 0) >= 6 && m.get('telemetry/too_old') && m.get('telemetry/future') && m.get('telemetry/not-json') ? m : undefined;
  });
  assert.equal(d.get('telemetry/too_old'), 1);
  assert.equal(d.get('telemetry/future'), 1);
  assert.equal(d.get('telemetry/not-json'), 1);
  assert.equal((await drops(h, token, good.id)).size, 0, 'nothing of the good device was dropped');
  assert.ok((await hubMetric(h, token, 'pifleet_ingest_rejected_total', { stream: 'telemetry', reason: 'range' })) >= 6);
  return { good, bad, token };
}

/** Finding: one device's flood (300k rows a minute) stalled the hub; now it is cut at its own limit and told. */
async function floodScenario(h: TestHub, token: string, good: RawDevice, bad: RawDevice): Promise<void> {
  const before = (await rawPoints(h, token, good.id)).length;
  const now = Date.now();
  // 40 messages of 500 rows: 20,000 rows in a second, four times the per-device burst.
  for (let m = 0; m < 40; m++) {
    const batch = Array.from({ length: 500 }, (_, i) => (i === 0 ? sampleRow(m * 500 + 499 + 1000) : Array.from({ length: 16 }, (_, j) => (j === 0 ? -1 : 0))));
    void bad.publish('telemetry', telemetryPayload(batch, now), { qos: 0 });
  }
  await waitFor('a throttled notice to the flooding device', () => bad.received.find((r) => r.leaf === 'throttled'), 15_000);
  const notice = JSON.parse(bad.received.find((r) => r.leaf === 'throttled')!.payload) as { reason: string; retryAfterMs: number };
  assert.ok(['rows', 'messages', 'bytes'].includes(notice.reason));
  assert.ok(notice.retryAfterMs >= 1000);
  // A burst of 5,000 rows passes (a device back from hours offline sends that much); the rest is
  // refused, and every row is accounted for: stored, or counted as refused.
  const db = h.hub.app.get<Db>(DB);
  const storedBefore = 4;
  const [stored, refused] = await waitFor('every flooded row stored or counted', async () => {
    const n = Number((await rows(db, sql`SELECT count(*)::int AS n FROM telemetry_raw WHERE device_id = ${bad.id}`))[0]!['n']) - storedBefore;
    const r = (await drops(h, token, bad.id)).get('telemetry/rate_rows') ?? 0;
    return n + r === 20_000 ? [n, r] : undefined;
  });
  assert.ok(stored >= 4000 && stored <= 5200, `about one burst stored: ${stored}`);
  assert.ok(refused >= 14_000, `the rest refused: ${refused}`);
  // The good device is not affected.
  await good.publish('telemetry', telemetryPayload([sampleRow(0)]));
  await waitForPoints(h, token, good.id, before + 1, 'the good device\'s sample after the flood');
  assert.equal(good.received.length, 0, 'the good device was never throttled');
}

/** Finding: two stored netRx 1e308 in a minute overflowed the rollup forever, and retention with it. */
async function rollupScenario(h: TestHub, good: RawDevice, bad: RawDevice): Promise<void> {
  const db = h.hub.app.get<Db>(DB);
  const telemetry = h.hub.app.get(TelemetryService);
  const minute = Math.floor(Date.now() / MIN) * MIN - 2 * MIN;
  const at = (ms: number) => new Date(ms).toISOString();
  // What an older hub let in: two huge values in one minute, and a good device's ordinary row.
  await db.execute(sql`INSERT INTO telemetry_raw (device_id, ts, net_rx, cpu) VALUES
    (${bad.id}, ${at(minute + 1000)}::timestamptz, 1e308, 1e308), (${bad.id}, ${at(minute + 2000)}::timestamptz, 1e308, 1e308),
    (${good.id}, ${at(minute + 3000)}::timestamptz, 100, 10),
    (${good.id}, ${at(Date.now() - 25 * 3600_000)}::timestamptz, 1, 1)
    ON CONFLICT DO NOTHING`);
  await telemetry.rollup(new Date());
  const mins = await rows(db, sql`SELECT device_id, net_rx, cpu FROM telemetry_1m WHERE minute = ${at(minute)}::timestamptz ORDER BY device_id`);
  const byDev = new Map(mins.map((r) => [String(r['device_id']), r]));
  assert.equal(Number(byDev.get(good.id)?.['net_rx']), 100, 'the good device got its rollup');
  assert.ok(Number(byDev.get(bad.id)?.['net_rx']) > 1e307, 'the huge sum is clamped to float8, not an error');
  const old = await rows(db, sql`SELECT count(*)::int AS n FROM telemetry_raw WHERE ts < now() - interval '24 hours'`);
  assert.equal(Number(old[0]!['n']), 0, 'retention ran');
  const wm = await rows(db, sql`SELECT value FROM settings WHERE key = 'telemetry.rollup_watermark'`);
  assert.ok(new Date((wm[0]!['value'] as { ts: string }).ts).getTime() > minute, 'the watermark advanced past the poisoned minute');
}

test('poison inputs and a flood from one device on PGlite and the embedded broker', { timeout: 120_000 }, async (t: TestContext) => {
  const h = await startTestHub({ env: { PIFLEET_TELEMETRY_FLUSH_MS: '100' } });
  t.after(() => h.close());
  const { good, bad, token } = await poisonScenario(h);
  t.after(() => Promise.all([good.close(), bad.close()]));
  await floodScenario(h, token, good, bad);
  await rollupScenario(h, good, bad);
});

test('poison inputs and a flood from one device on PostgreSQL and Mosquitto; a retained poison survives a hub restart harmlessly', { timeout: 180_000 }, async (t: TestContext) => {
  const services = await productionServices(t);
  if (!services) return;
  const { db, broker } = services;
  const env = { PIFLEET_TELEMETRY_FLUSH_MS: '100', MQTT_URL: broker.url };
  const h = await startTestHub({ databaseUrl: db.url, env });
  let closed = false;
  t.after(() => (closed ? undefined : h.close()));
  const { good, bad, token } = await poisonScenario(h);
  t.after(() => Promise.all([good.close(), bad.close()]));
  await floodScenario(h, token, good, bad);
  await rollupScenario(h, good, bad);
  closed = true;
  await h.close();
  // Mosquitto keeps the hostile retained status and hands it to the next hub at start.
  const h2 = await startTestHub({ databaseUrl: db.url, env });
  t.after(() => h2.close());
  const token2 = await h2.login();
  await good.publish('status', statusPayload('online', 2, { hostname: 'good-pi' }), { retain: true });
  await waitFor('presence applied after the restart', async () => (await h2.api('GET', `/api/devices/${good.id}`, { token: token2 })).body.online === true);
  assert.equal(await hubMetric(h2, token2, 'pifleet_ingest_rejected_total', { stream: 'presence', reason: 'db_rejected' }), 0);
  assert.equal((await h2.api('GET', `/api/devices/${bad.id}`, { token: token2 })).body.info.hostname, 'evilpi\ufffd');
});
