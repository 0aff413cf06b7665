import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { EnrollResponseSchema, deviceTopic, encodeBatch, envelope } from '@pifleet/protocol';
import type { LiveEventMap } from '../contract.js';
import { takeSseEvents } from '../http/sse-test-parse.js';
import { enrollBody, startTestHub, type TestHub } from '../http/test-hub.js';

let t: TestHub;
let admin: string;
before(async () => {
  t = await startTestHub({ env: { PIFLEET_TELEMETRY_FLUSH_MS: '100' } });
  admin = await t.login();
});
after(async () => {
  await t?.close();
});

/** Reads named SSE events from /api/events until `done` says so (bounded by `ms`). */
async function readEvents(until: (events: { event: string; data: unknown }[]) => boolean, ms: number, during: () => Promise<void>) {
  const ac = new AbortController();
  const res = await fetch(`${t.url}/api/events`, { headers: { authorization: `Bearer ${admin}` }, signal: ac.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  const events: { event: string; data: unknown }[] = [];
  let buf = '';
  let started = false;
  const deadline = Date.now() + ms;
  try {
    while (Date.now() < deadline && !until(events)) {
      const timer = setTimeout(() => ac.abort(), Math.max(1, deadline - Date.now()));
      const { value, done } = await reader.read().finally(() => clearTimeout(timer));
      if (done) break;
      const got = takeSseEvents(buf + value);
      buf = got.rest;
      events.push(...got.events);
      if (!started && events.some((e) => e.event === 'snapshot')) {
        started = true;
        await during();
      }
    }
  } finally {
    ac.abort();
  }
  return events;
}

test('the live stream pushes a device\'s new telemetry as a `telemetry` event with the stored point', async () => {
  const tok = await t.api('POST', '/api/tokens', { token: admin, body: { fleet: 'default', maxUses: 1 } });
  const enrolled = EnrollResponseSchema.parse((await t.api('POST', '/api/enroll', { body: enrollBody(tok.body.token, { name: 'live-pi' }) })).body);
  const client = await mqtt.connectAsync(enrolled.mqtt.url, { username: enrolled.mqtt.username, password: enrolled.mqtt.password, clientId: enrolled.mqtt.clientId, reconnectPeriod: 0 });
  try {
    const sample = { dt: 0, cpu: 420, load1: 12, load5: 10, load15: 8, memUsed: 300, memTotal: 900, diskUsed: 1, diskTotal: 2, temp: 512, throttled: 0, netRx: 1, netTx: 1, uptime: 60, agentRss: 1, agentCpu: 1 };
    const events = await readEvents(
      (evs) => evs.some((e) => e.event === 'telemetry'),
      15_000,
      () => client.publishAsync(deviceTopic(enrolled.deviceId, 'telemetry'), JSON.stringify({ ...envelope('telemetry'), samples: encodeBatch([sample]) }), { qos: 1 }).then(() => undefined),
    );
    const update = events.find((e) => e.event === 'telemetry')?.data as LiveEventMap['telemetry'] | undefined;
    assert.ok(update, `a telemetry event arrived (got ${events.map((e) => e.event).join(', ')})`);
    assert.equal(update.deviceId, enrolled.deviceId);
    assert.equal(update.point.cpu, 42, 'contract units: percent');
    assert.equal(update.point.temp, 51.2);
    assert.ok(Date.parse(update.receivedAt) > Date.now() - 60_000);
  } finally {
    await client.endAsync();
  }
});
