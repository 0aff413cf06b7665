import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, test } from 'node:test';
import type { Alert, AuditEntry, ServiceRecord } from '../contract.js';
import { MetricsService } from '../common/metrics.service.js';
import { registryMetric, until } from '../broker/mqtt-test-helpers.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { enrollDevice, openLiveStream, status, type LiveStream, type TestDevice } from './supervision-test-kit.js';

let t: TestHub;
let admin: string;
let operator: string;
let viewer: string;
let dev: TestDevice;
let live: LiveStream;
/** The alert webhook's receiver: refuses its first request with 503 (to be retried), then takes all. */
let hook: Server;
const hooked: { alert: Alert; query: string | null }[] = [];
let hookRequests = 0;
before(async () => {
  hook = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      if (++hookRequests === 1) return void res.writeHead(503).end();
      hooked.push({ alert: JSON.parse(Buffer.concat(chunks).toString()) as Alert, query: new URL(req.url!, 'http://x').searchParams.get('token') });
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
  const port = (hook.address() as AddressInfo).port;
  t = await startTestHub({ env: { PIFLEET_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook?token=hook-secret` } });
  admin = await t.login();
  operator = await t.userToken('operator', admin);
  viewer = await t.userToken('viewer', admin);
  dev = await enrollDevice(t, admin, 'pi-alerts');
  await dev.online(1);
  live = await openLiveStream(t, viewer);
});
after(async () => {
  live?.close();
  await dev?.close();
  await t?.close();
  await new Promise((r) => hook?.close(r));
});

const metric = (name: string, labels: Record<string, string> = {}) => registryMetric(t.hub.app.get(MetricsService).registry, name, labels);
const alerts = async (query: string) => {
  const r = await t.api<Alert[]>('GET', `/api/alerts${query}`, { token: viewer });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
};
const openOf = async (device = dev) => (await alerts(`?open=true&device=${device.name}`)).map((a) => `${a.kind} ${a.app ?? ''}/${a.service ?? ''}`).sort();
const liveAlert = (what: string, pred: (a: Alert) => boolean) => live.waitFor(what, (e) => e.event === 'alert' && pred(e.data as Alert)).then((e) => e.data as Alert);

test('a crash loop raises one alert (and an `alert` event), FATAL a second; recovery resolves both', async () => {
  await dev.report({ apps: { web: { api: status('RUNNING') } } });
  await until('containers', async () => (await t.api('GET', `/api/devices/${dev.id}/containers`, { token: viewer })).body.services.length === 1);
  assert.deepEqual(await openOf(), []);

  await dev.report({ apps: { web: { api: status('BACKOFF', { crashLoop: true, restarts: 3, exitCode: 1 }) } } });
  const raised = await liveAlert('crash loop raised', (a) => a.kind === 'crash_loop' && a.deviceId === dev.id);
  assert.deepEqual([raised.device, raised.app, raised.service, raised.resolvedAt, raised.ackedBy], ['pi-alerts', 'web', 'api', null, null]);
  assert.match(raised.message, /web\/api is crash-looping \(3 restarts, last exit code 1\)/);
  assert.deepEqual(await openOf(), ['crash_loop web/api']);

  // Still crash-looping, then FATAL: the crash loop alert stays the one open, FATAL is added.
  await dev.report({ apps: { web: { api: status('BACKOFF', { crashLoop: true, restarts: 4, exitCode: 1 }) } } });
  await dev.report({ apps: { web: { api: status('FATAL', { crashLoop: true, restarts: 5, exitCode: 1, message: 'gave up' }) } } });
  const fatal = await liveAlert('fatal raised', (a) => a.kind === 'fatal' && a.deviceId === dev.id);
  assert.match(fatal.message, /FATAL.*gave up/);
  assert.deepEqual(await openOf(), ['crash_loop web/api', 'fatal web/api']);
  assert.equal(await metric('pifleet_alerts_open'), 2);

  await dev.report({ apps: { web: { api: status('RUNNING', { restarts: 0 }) } } });
  await liveAlert('crash loop resolved', (a) => a.id === raised.id && a.resolvedAt !== null);
  await liveAlert('fatal resolved', (a) => a.id === fatal.id && a.resolvedAt !== null);
  assert.deepEqual(await openOf(), []);
  const closed = await alerts(`?open=false&device=${dev.id}`);
  assert.deepEqual(closed.map((a) => a.kind).sort(), ['crash_loop', 'fatal']);
  assert.equal(await metric('pifleet_alerts_open'), 0);
});

test('the alert webhook receives every raise and resolve as JSON, in order, retrying a failed delivery', async () => {
  await until('webhook got both raises and both resolves', () => hooked.filter((h) => h.alert.kind === 'crash_loop' || h.alert.kind === 'fatal').length >= 4, 15_000);
  assert.deepEqual(hooked.slice(0, 4).map((h) => `${h.alert.kind} ${h.alert.resolvedAt ? 'resolved' : 'raised'}`), ['crash_loop raised', 'fatal raised', 'crash_loop resolved', 'fatal resolved']);
  const loop = hooked.filter((h) => h.alert.kind === 'crash_loop').map((h) => h.alert);
  assert.equal(loop[0]!.id, loop[1]!.id);
  assert.deepEqual([loop[0]!.resolvedAt === null, loop[1]!.resolvedAt !== null], [true, true]);
  assert.equal(loop[0]!.device, 'pi-alerts');
  assert.equal(hooked[0]!.query, 'hook-secret', 'the URL is used as configured');
  assert.ok((await metric('pifleet_alert_webhook_total', { result: 'failed' })) >= 1, 'the 503 was retried');
  assert.ok((await metric('pifleet_alert_webhook_total', { result: 'sent' })) >= 4);
});

test('engine down and a failed apply raise alerts that clear with the condition', async () => {
  await dev.report({ engine: 'down', apps: { web: { api: status('RUNNING') } } });
  await until('engine_down', async () => (await openOf()).includes('engine_down /'));
  await dev.report({ engine: 'up', apps: { web: { api: status('RUNNING') } }, error: { code: 'image_pull_failed', message: 'manifest unknown', app: 'web', service: 'api', at: Date.now() } });
  await until('apply_failed only', async () => JSON.stringify(await openOf()) === JSON.stringify(['apply_failed web/api']));
  const [failed] = await alerts(`?open=true&device=${dev.id}`);
  assert.match(failed!.message, /apply failed \(web\/api\): image_pull_failed: manifest unknown/);
  // An apply error saying the engine is down is that trouble, not a second one.
  await dev.report({ engine: 'up', apps: {}, error: { code: 'engine_down', message: 'connect ENOENT /var/run/docker.sock', at: Date.now() } });
  await until('engine_down from the error', async () => JSON.stringify(await openOf()) === JSON.stringify(['engine_down /']));
  await dev.report({ engine: 'up', apps: { web: { api: status('RUNNING') } } });
  await until('all clear', async () => (await openOf()).length === 0);
});

test('acknowledging: operator+, audited, the first acknowledgement kept; viewer 403, unknown 404', async () => {
  await dev.report({ apps: { web: { api: status('FATAL', { restarts: 5 }) } } });
  await until('fatal open', async () => (await openOf()).includes('fatal web/api'));
  const [a] = await alerts(`?open=true&device=${dev.id}`);
  const denied = await t.api('POST', `/api/alerts/${a!.id}/ack`, { token: viewer });
  assert.equal(denied.status, 403);
  const acked = await t.api<Alert>('POST', `/api/alerts/${a!.id}/ack`, { token: operator });
  assert.equal(acked.status, 200);
  assert.match(acked.body.ackedBy!, /^operator\d+$/);
  assert.ok(acked.body.ackedAt);
  assert.equal(acked.body.resolvedAt, null, 'acknowledged is not resolved');
  await liveAlert('ack on the live stream', (x) => x.id === a!.id && x.ackedAt !== null);
  const again = await t.api<Alert>('POST', `/api/alerts/${a!.id}/ack`, { token: admin });
  assert.deepEqual([again.body.ackedBy, again.body.ackedAt], [acked.body.ackedBy, acked.body.ackedAt]);
  assert.equal((await t.api('POST', '/api/alerts/nosuchalert/ack', { token: operator })).status, 404);
  const audit = await t.api<AuditEntry[]>('GET', `/api/audit?target=${a!.id}`, { token: admin });
  assert.deepEqual(audit.body.map((e) => [e.action, e.actor, e.result]).sort(), [
    ['alert.ack', acked.body.ackedBy, 'ok'],
    ['alert.ack', 'admin', 'ok'],
  ].sort());
  assert.equal(audit.body[0]!.detail['name'], 'pi-alerts');
  assert.equal((await t.api('GET', '/api/alerts?open=maybe', { token: viewer })).status, 400);
  assert.equal((await t.api('GET', '/api/alerts?device=no-such-pi', { token: viewer })).status, 404);
});

test('troubles: crash-looping and FATAL services of the fleet, kept while the device is offline', async () => {
  const calm = await enrollDevice(t, admin, 'pi-calm');
  const loop = await enrollDevice(t, admin, 'pi-loop');
  try {
    await calm.online(1);
    await loop.online(1);
    await calm.report({ apps: { web: { api: status('RUNNING') } } });
    await loop.report({ apps: { web: { api: status('RUNNING') }, jobs: { cron: status('BACKOFF', { crashLoop: true, restarts: 7 }) } } });
    await dev.report({ apps: { web: { api: status('FATAL', { restarts: 5 }) } } });
    const troubles = async () => (await t.api<ServiceRecord[]>('GET', '/api/fleets/default/troubles', { token: viewer })).body;
    await until('loop troubled', async () => (await troubles()).some((s) => s.device === 'pi-loop'));
    assert.deepEqual((await troubles()).map((s) => [s.device, s.app, s.service, s.state, s.crashLoop]), [
      ['pi-alerts', 'web', 'api', 'FATAL', false],
      ['pi-loop', 'jobs', 'cron', 'BACKOFF', true],
    ]);
    await loop.publish('status', JSON.stringify({ v: 1, type: 'status', id: 'off1', ts: Date.now(), state: 'offline', session: 1 }), { retain: true });
    await until('loop offline', async () => (await troubles()).find((s) => s.device === 'pi-loop')?.state === 'UNKNOWN');
    assert.equal((await troubles()).find((s) => s.device === 'pi-loop')!.reportedState, 'BACKOFF');
    assert.equal((await t.api('GET', '/api/fleets/no-such-fleet/troubles', { token: viewer })).status, 404);
  } finally {
    await calm.close();
    await loop.close();
  }
});

test('service actions: viewer 403, bad body or unknown app 400, unknown device 404, revoked device 409', async () => {
  const act = (token: string, body: unknown, device = dev.id) => t.api('POST', `/api/devices/${device}/services/action`, { token, body });
  assert.equal((await act(viewer, { action: 'stop', app: 'web', service: 'api' })).status, 403);
  for (const bad of [{ action: 'explode' }, { action: 'stop', service: 'api' }, { action: 'pause', app: 'web' }, { action: 'stop', minutes: 5 }, { action: 'pause', minutes: 2000 }, { action: 'stop', extra: 1 }]) {
    const r = await act(operator, bad);
    assert.equal(r.status, 400, JSON.stringify(bad));
    assert.equal(r.body.code, 'bad_request');
  }
  const unknownApp = await act(operator, { action: 'restart', app: 'nope' });
  assert.equal(unknownApp.status, 400);
  assert.match(unknownApp.body.message, /no app nope/);
  assert.equal((await act(operator, { action: 'stop' }, 'no-such-pi')).status, 404);
  const gone = await enrollDevice(t, admin, 'pi-gone');
  await gone.close();
  assert.equal((await t.api('POST', `/api/devices/${gone.id}/revoke`, { token: admin })).status, 200);
  const r = await act(operator, { action: 'stop' }, gone.id);
  assert.equal(r.status, 409);
  assert.equal(r.body.code, 'conflict');
});

test("revoking a device resolves its open alerts (it reports no more, so they could never clear)", async () => {
  const doomed = await enrollDevice(t, admin, 'pi-doomed');
  try {
    await doomed.online(1);
    await doomed.report({ apps: { web: { api: status('FATAL', { restarts: 5 }) } } });
    await until('fatal open', async () => (await openOf(doomed)).includes('fatal web/api'));
    const [a] = await alerts(`?open=true&device=${doomed.id}`);
    assert.equal((await t.api('POST', `/api/devices/${doomed.id}/revoke`, { token: admin })).status, 200);
    await liveAlert('resolved on revoke', (x) => x.id === a!.id && x.resolvedAt !== null);
    assert.deepEqual(await openOf(doomed), []);
  } finally {
    await doomed.close();
  }
});
