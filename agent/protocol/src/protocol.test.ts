import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodePayload,
  decodeSamples,
  deviceTopic,
  encodeBatch,
  envelope,
  isInDeviceSubtree,
  MAX_PAYLOAD_BYTES,
  parseDeviceTopic,
  StatusMessageSchema,
  TELEMETRY_FIELDS,
  TelemetryMessageSchema,
  type TelemetrySample,
} from './index.js';

const id = 'abcdefghij12';

test('device topics put the device id at the 4th level and parse back', () => {
  const t = deviceTopic(id, 'status');
  assert.equal(t, `pifleet/v1/dev/${id}/status`);
  assert.deepEqual(parseDeviceTopic(t), { deviceId: id, leaf: 'status' });
  assert.deepEqual(parseDeviceTopic(`pifleet/v1/dev/${id}/evt/died`), { deviceId: id, leaf: 'evt/died' });
  assert.equal(parseDeviceTopic('pifleet/v1/dev/+/status'), undefined, 'wildcards are not device ids');
  assert.equal(parseDeviceTopic('pifleet/v1/dev/UPPER1234567/status'), undefined);
  assert.equal(parseDeviceTopic('other/v1/dev/abcdefghij12/status'), undefined);
});

test('subtree check refuses neighbours, prefixes and wildcards above the device', () => {
  assert.ok(isInDeviceSubtree(id, `pifleet/v1/dev/${id}/telemetry`));
  assert.ok(isInDeviceSubtree(id, `pifleet/v1/dev/${id}/#`));
  assert.ok(!isInDeviceSubtree(id, `pifleet/v1/dev/${id}`));
  assert.ok(!isInDeviceSubtree(id, `pifleet/v1/dev/${id}x/status`));
  assert.ok(!isInDeviceSubtree(id, 'pifleet/v1/dev/#'));
  assert.ok(!isInDeviceSubtree(id, '#'));
  assert.ok(!isInDeviceSubtree(id, `pifleet/v1/dev/zzzzzzzzzzzz/status`));
});

test('decodePayload reports oversized, non-JSON and invalid payloads without throwing', () => {
  const ok = Buffer.from(JSON.stringify({ ...envelope('status'), state: 'online', session: 3 }));
  const r = decodePayload(StatusMessageSchema, ok);
  assert.ok(r.ok && r.value.session === 3);
  const big = Buffer.alloc(MAX_PAYLOAD_BYTES + 1, 0x20);
  assert.deepEqual(decodePayload(StatusMessageSchema, big).ok, false);
  const e1 = decodePayload(StatusMessageSchema, big);
  assert.ok(!e1.ok && e1.error === 'oversized');
  const e2 = decodePayload(StatusMessageSchema, Buffer.from('{nope'));
  assert.ok(!e2.ok && e2.error === 'not-json');
  const e3 = decodePayload(StatusMessageSchema, Buffer.from(JSON.stringify({ v: 1, type: 'status', id: 'x', ts: 1, state: 'maybe', session: 1 })));
  assert.ok(!e3.ok && e3.error === 'invalid');
});

test('telemetry samples round-trip through the columnar encoding', () => {
  const sample = Object.fromEntries(TELEMETRY_FIELDS.map((f, i) => [f, i * 10])) as TelemetrySample;
  sample.dt = 20_000;
  sample.temp = null;
  sample.cpu = 123.6;
  const [row] = encodeBatch([sample]) as [(number | null)[]];
  assert.equal(row.length, TELEMETRY_FIELDS.length);
  assert.equal(row[1], 124, 'values are rounded to integers');
  const ts = 1_700_000_000_000;
  const msg = { ...envelope('telemetry'), ts, samples: [row] };
  assert.ok(TelemetryMessageSchema.safeParse(msg).success);
  const [decoded] = decodeSamples(ts, [row]);
  assert.equal(decoded!.ts, ts - 20_000);
  assert.equal(decoded!.temp, null);
  assert.equal(decoded!.cpu, 124);
  assert.equal(decoded!.agentCpu, 150);
});

test('a compact idle batch stays small on the wire', () => {
  const idle: TelemetrySample = {
    dt: 20_000, cpu: 12, load1: 3, load5: 2, load15: 1, memUsed: 182, memTotal: 3792, diskUsed: 5210,
    diskTotal: 29340, temp: 452, throttled: 0, netRx: 412, netTx: 388, uptime: 864000, agentRss: 41212, agentCpu: 4,
  };
  const batch = [idle, { ...idle, dt: 10_000, memUsed: 184, uptime: 864010, netRx: 398 }, { ...idle, dt: 0, temp: 449, uptime: 864020 }];
  const msg = { ...envelope('telemetry'), samples: encodeBatch(batch) };
  // Three samples of an idle Pi: later rows are mostly zeros, the whole message ~210 bytes.
  assert.ok(JSON.stringify(msg).length < 230, `batch is ${JSON.stringify(msg).length} bytes`);
  const back = decodeSamples(msg.ts, msg.samples);
  assert.deepEqual(back.map((s) => [s.memUsed, s.uptime, s.temp, s.netRx]), [[182, 864000, 452, 412], [184, 864010, 452, 398], [182, 864020, 449, 412]]);
});

test('delta rows survive nulls: a value after a null is absolute, a null stays null', () => {
  const base = Object.fromEntries(TELEMETRY_FIELDS.map((f) => [f, 5])) as TelemetrySample;
  const rows = encodeBatch([{ ...base, temp: null }, { ...base, temp: 400 }, { ...base, temp: null }, { ...base, temp: 410 }]);
  const temps = decodeSamples(0, rows).map((s) => s.temp);
  assert.deepEqual(temps, [null, 400, null, 410]);
});
