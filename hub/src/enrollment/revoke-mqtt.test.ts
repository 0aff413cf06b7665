import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import mqtt from 'mqtt';
import { EnrollResponseSchema, type EnrollResponse } from '@pifleet/protocol';
import type { CreatedToken } from '../contract.js';
import { enrollBody, startTestHub, type TestHub } from '../http/test-hub.js';

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(async () => {
  await t?.close();
});

/** Connects once (no reconnects); resolves with the client or rejects with the broker's refusal. */
function connect(e: EnrollResponse): Promise<mqtt.MqttClient> {
  return new Promise((resolve, reject) => {
    const c = mqtt.connect(e.mqtt.url, {
      username: e.mqtt.username,
      password: e.mqtt.password,
      clientId: e.mqtt.clientId,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    });
    const timer = setTimeout(() => {
      c.end(true);
      reject(new Error('connect timed out'));
    }, 6_000);
    c.once('connect', () => {
      clearTimeout(timer);
      resolve(c);
    });
    c.once('error', (err) => {
      clearTimeout(timer);
      c.end(true);
      reject(err);
    });
  });
}

test('an enrolled device connects with its credential; revoke kicks it within 2 s and refuses it after', async () => {
  const admin = await t.login();
  const tok = (await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body: {} })).body;
  const e = EnrollResponseSchema.parse((await t.api('POST', '/api/enroll', { body: enrollBody(tok.token) })).body);
  const client = await connect(e);
  try {
    const closed = new Promise<number>((resolve) => client.once('close', () => resolve(Date.now())));
    const start = Date.now();
    const r = await t.api('POST', `/api/devices/${e.deviceId}/revoke`, { token: admin });
    assert.equal(r.status, 200);
    const at = await Promise.race([closed, new Promise<number>((_, rej) => setTimeout(() => rej(new Error('not disconnected within 2.5 s')), 2_500))]);
    assert.ok(at - start <= 2_000, `disconnected after ${at - start} ms`);
  } finally {
    client.end(true);
  }
  await assert.rejects(connect(e), /not authorized|bad user|refused/i);
  // The same token cannot bring the device back (single use).
  const again = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token) });
  assert.equal(again.body.code, 'token_exhausted');
});
