import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  decodePayload,
  decodeSamples,
  deviceTopic,
  encodeSample,
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
  sample.dt = 20;
  sample.temp = null;
  sample.cpu = 123.6;
  const row = encodeSample(sample);
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
    dt: 20, cpu: 12, load1: 3, load5: 2, load15: 1, memUsed: 182, memTotal: 3792, diskUsed: 5210,
    diskTotal: 29340, temp: 452, throttled: 0, netRx: 412, netTx: 388, uptime: 864000, agentRss: 41212, agentCpu: 4,
  };
  const msg = { ...envelope('telemetry'), samples: [encodeSample(idle), encodeSample({ ...idle, dt: 10 }), encodeSample({ ...idle, dt: 0 })] };
  // Three samples of an idle Pi fit well under 300 bytes of JSON.
  assert.ok(JSON.stringify(msg).length < 300, `batch is ${JSON.stringify(msg).length} bytes`);
});
