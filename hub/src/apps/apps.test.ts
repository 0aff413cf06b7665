import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { leafTopic } from '@pifleet/protocol';
import type { AppSummary, ApplyAppResult, AuditEntry, Release } from '../contract.js';
import { MqttLink } from '../broker/mqtt-link.js';
import { until } from '../broker/mqtt-test-helpers.js';
import { DomainEvents } from '../common/domain-events.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { imageBundles } from '../db/schema.js';
import { startTestHub, type TestHub } from '../http/test-hub.js';
import { ControlsService } from './controls.service.js';
import { DesiredStateService } from './desired-state.service.js';
import { FakeDevice, composeWith, enroll } from './apps-test-helpers.js';

let t: TestHub;
let admin: string;
let operator: string;
let desired: DesiredStateService;
const devices: FakeDevice[] = [];

before(async () => {
  t = await startTestHub();
  admin = await t.login();
  operator = await t.userToken('operator', admin);
  desired = t.hub.app.get(DesiredStateService);
});
after(async () => {
  for (const d of devices) await d.close().catch(() => undefined);
  await t?.close();
});

async function fleet(name: string): Promise<void> {
  const r = await t.api('POST', '/api/fleets', { token: admin, body: { name } });
  assert.equal(r.status, 201);
}

async function device(fleetName: string, name: string, session = 1): Promise<FakeDevice> {
  const e = await enroll(t, admin, fleetName, name);
  const d = await FakeDevice.connect(e, session);
  devices.push(d);
  return d;
}

async function apply(body: Record<string, unknown>, token = operator): Promise<ApplyAppResult> {
  const r = await t.api<ApplyAppResult>('POST', '/api/apps/apply', { token, body });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

const version = async (id: string) => (await desired.current(id))?.version ?? 0;

test('apply -> release 1 -> the device receives the parsed spec; changed env -> release 2 planned as recreate [environment]; the same again changes nothing', async () => {
  await fleet('f1');
  const pi = await device('f1', 'f1-pi');
  const first = await pi.waitFor(() => true, 'initial empty state');
  assert.deepEqual(first.apps, {});

  const r1 = await apply({ fleet: 'f1', compose: composeWith({ MODE: 'a' }) });
  assert.equal(r1.app, 'shop');
  assert.equal(r1.release?.number, 1);
  assert.equal(r1.release?.current, true);
  assert.deepEqual(
    r1.plan.map((p) => [p.device, p.service, p.change]),
    [
      ['f1-pi', 'web', 'create'],
      ['f1-pi', 'worker', 'create'],
    ],
  );
  const m1 = await pi.waitFor((m) => m.apps['shop'] !== undefined, 'state with shop');
  assert.equal(m1.apps['shop']!.release, 1);
  assert.equal(m1.apps['shop']!.services['web']!.image, 'nginx:1.27');
  assert.deepEqual(m1.apps['shop']!.services['web']!.environment, { MODE: 'a' });
  assert.deepEqual(m1.apps['shop']!.services['worker']!.command, ['sleep', '3600']);
  assert.ok(m1.version > first.version);

  const r2 = await apply({ fleet: 'f1', compose: composeWith({ MODE: 'b' }) });
  assert.equal(r2.release?.number, 2);
  assert.deepEqual(
    r2.plan.map((p) => [p.service, p.change, p.fields]),
    [
      ['web', 'recreate', ['environment']],
      ['worker', 'unchanged', undefined],
    ],
  );
  const m2 = await pi.waitFor((m) => m.apps['shop']?.release === 2, 'release 2');
  assert.deepEqual(m2.apps['shop']!.services['web']!.environment, { MODE: 'b' });
  assert.equal(m2.version, m1.version + 1);

  const before = await version(pi.e.deviceId);
  const r3 = await apply({ fleet: 'f1', compose: composeWith({ MODE: 'b' }) });
  assert.equal(r3.release?.number, 2, 'no new release for the same content');
  assert.ok(r3.plan.every((p) => p.change === 'unchanged'));
  assert.equal(await version(pi.e.deviceId), before, 'no version bump');

  const releases = (await t.api<Release[]>('GET', '/api/apps/f1/shop/releases', { token: admin })).body;
  assert.deepEqual(
    releases.map((r) => [r.number, r.current, r.device]),
    [
      [2, true, null],
      [1, false, null],
    ],
  );
  assert.ok(releases[0]!.createdBy?.startsWith('operator'));
  const list = (await t.api<AppSummary[]>('GET', '/api/apps?fleet=f1', { token: admin })).body;
  assert.deepEqual(list.map((a) => [a.name, a.release, a.services, a.overrides]), [['shop', 2, ['web', 'worker'], []]]);
});

test('dry run returns the plan and changes nothing; rollback is a new release copying the old one', async () => {
  const pi = devices.find((d) => d.e.name === 'f1-pi')!;
  const v = await version(pi.e.deviceId);
  const dry = await apply({ fleet: 'f1', compose: composeWith({ MODE: 'c' }), dryRun: true });
  assert.equal(dry.dryRun, true);
  assert.equal(dry.release, undefined);
  assert.deepEqual(dry.plan.find((p) => p.service === 'web')?.fields, ['environment']);
  assert.equal((await t.api<Release[]>('GET', '/api/apps/f1/shop/releases', { token: admin })).body.length, 2);
  assert.equal(await version(pi.e.deviceId), v);

  const rb = await t.api<ApplyAppResult>('POST', '/api/apps/f1/shop/rollback', { token: operator, body: { release: 1 } });
  assert.equal(rb.status, 200, JSON.stringify(rb.body));
  assert.equal(rb.body.release?.number, 3);
  assert.equal(rb.body.release?.rollbackOf, 1);
  assert.deepEqual(rb.body.plan.find((p) => p.service === 'web')?.fields, ['environment']);
  const m = await pi.waitFor((s) => s.apps['shop']?.release === 3, 'rollback');
  assert.deepEqual(m.apps['shop']!.services['web']!.environment, { MODE: 'a' });
  assert.equal((await t.api('POST', '/api/apps/f1/shop/rollback', { token: operator, body: { release: 99 } })).status, 404);
  assert.equal((await t.api('POST', '/api/apps/f1/nope/rollback', { token: operator, body: { release: 1 } })).status, 404);
});

test('a device override applies to that device only, and fleet releases leave it alone', async () => {
  await fleet('f2');
  const a = await device('f2', 'f2-a');
  const b = await device('f2', 'f2-b');
  await apply({ fleet: 'f2', compose: composeWith({ MODE: 'fleet' }) });
  await a.waitFor((m) => m.apps['shop']?.release === 1);
  await b.waitFor((m) => m.apps['shop']?.release === 1);

  const o = await apply({ device: 'f2-b', compose: composeWith({ MODE: 'mine' }) });
  assert.equal(o.release?.number, 2);
  assert.equal(o.release?.device, 'f2-b');
  assert.deepEqual(o.plan.map((p) => p.device), ['f2-b', 'f2-b']);
  const mb = await b.waitFor((m) => m.apps['shop']?.release === 2, 'override on b');
  assert.deepEqual(mb.apps['shop']!.services['web']!.environment, { MODE: 'mine' });
  const va = await version(a.e.deviceId);

  const f = await apply({ fleet: 'f2', compose: composeWith({ MODE: 'fleet2' }) });
  assert.equal(f.release?.number, 3);
  assert.deepEqual([...new Set(f.plan.map((p) => p.device))], ['f2-a'], 'b has its override');
  await a.waitFor((m) => m.apps['shop']?.release === 3);
  assert.equal(await version(a.e.deviceId), va + 1);
  assert.equal((await desired.current(b.e.deviceId))?.state.apps['shop']?.release, 2);
  const list = (await t.api<AppSummary[]>('GET', '/api/apps?fleet=f2', { token: admin })).body;
  assert.deepEqual(list[0]?.overrides, ['f2-b']);

  // Removing the app from one device is an override release that removes it.
  const rm = await t.api<ApplyAppResult>('DELETE', '/api/apps/f2/shop?device=f2-a', { token: operator });
  assert.equal(rm.status, 200, JSON.stringify(rm.body));
  assert.equal(rm.body.release?.removed, true);
  assert.deepEqual(rm.body.plan.map((p) => [p.device, p.service, p.change]), [
    ['f2-a', 'web', 'remove'],
    ['f2-a', 'worker', 'remove'],
  ]);
  await a.waitFor((m) => m.apps['shop'] === undefined, 'shop gone from a');
  assert.ok((await desired.current(b.e.deviceId))?.state.apps['shop']);

  // Fleet-wide removal: b keeps its override.
  const rmAll = await t.api<ApplyAppResult>('DELETE', '/api/apps/f2/shop', { token: operator });
  assert.equal(rmAll.status, 200);
  assert.equal((await t.api<AppSummary[]>('GET', '/api/apps?fleet=f2', { token: admin })).body[0]?.release, null);
  assert.equal((await t.api('DELETE', '/api/apps/f2/ghost', { token: operator })).status, 404);
  // An override for a device of another fleet is refused.
  assert.equal((await t.api('DELETE', '/api/apps/f1/shop?device=f2-a', { token: operator })).status, 400);
});

test('variables are interpolated per device; a value missing on some devices is 400 naming them, and nothing changes', async () => {
  await fleet('f3');
  const a = await device('f3', 'f3-a');
  const b = await device('f3', 'f3-b');
  const compose = 'name: sensor\nservices:\n  probe:\n    image: "probe:${TAG:-1}"\n    environment:\n      ROOM: "${ROOM:?set ROOM per device}"\n';
  assert.equal((await t.api('PUT', '/api/devices/f3-a/variables', { token: operator, body: { ROOM: 'kitchen' } })).status, 200);
  const bad = await t.api('POST', '/api/apps/apply', { token: operator, body: { fleet: 'f3', compose } });
  assert.equal(bad.status, 400);
  assert.equal(bad.body.code, 'invalid_compose');
  assert.match(bad.body.message, /f3-b/);
  assert.doesNotMatch(bad.body.message, /f3-a/);
  assert.ok(bad.body.details.some((e: { message: string }) => /f3-b/.test(e.message) && /ROOM/.test(e.message)), JSON.stringify(bad.body.details));
  assert.equal((await t.api('GET', '/api/apps?fleet=f3', { token: admin })).body.length, 0, 'no app, no release');

  assert.equal((await t.api('PUT', '/api/devices/f3-b/variables', { token: operator, body: { ROOM: 'hall' } })).status, 200);
  assert.equal((await t.api('PUT', '/api/fleets/f3/variables', { token: operator, body: { TAG: '2' } })).status, 200);
  await apply({ fleet: 'f3', compose });
  const ma = await a.waitFor((m) => m.apps['sensor'] !== undefined);
  const mb = await b.waitFor((m) => m.apps['sensor'] !== undefined);
  assert.deepEqual(ma.apps['sensor']!.services['probe']!.environment, { ROOM: 'kitchen' });
  assert.deepEqual(mb.apps['sensor']!.services['probe']!.environment, { ROOM: 'hall' });
  assert.equal(mb.apps['sensor']!.services['probe']!.image, 'probe:2');

  // Changing a variable recomputes the devices it reaches.
  assert.equal((await t.api('PUT', '/api/fleets/f3/variables', { token: operator, body: { TAG: '3' } })).status, 200);
  await a.waitFor((m) => m.apps['sensor']?.services['probe']?.image === 'probe:3', 'fleet variable change');
  // Taking away a value an app needs is refused, naming the device; nothing changes.
  const vb = await version(b.e.deviceId);
  const refused = await t.api('PUT', '/api/devices/f3-b/variables', { token: operator, body: {} });
  assert.equal(refused.status, 400);
  assert.equal(refused.body.code, 'invalid_compose');
  assert.match(JSON.stringify(refused.body.details), /f3-b/);
  assert.deepEqual((await t.api('GET', '/api/devices/f3-b/variables', { token: admin })).body, { ROOM: 'hall' });
  assert.equal(await version(b.e.deviceId), vb);
  assert.deepEqual((await t.api('GET', '/api/fleets/f3/variables', { token: admin })).body, { TAG: '3' });
  assert.equal((await t.api('PUT', '/api/fleets/f3/variables', { token: operator, body: { 'BAD-NAME': 'x' } })).status, 400);
  assert.equal((await t.api('PUT', '/api/fleets/f3/variables', { token: (await t.userToken('viewer', admin)), body: {} })).status, 403);
});

test('an invalid compose file is 400 invalid_compose with field and line; nothing changes', async () => {
  const pi = devices.find((d) => d.e.name === 'f1-pi')!;
  const v = await version(pi.e.deviceId);
  const count = (await t.api<Release[]>('GET', '/api/apps/f1/shop/releases', { token: admin })).body.length;
  const r = await t.api('POST', '/api/apps/apply', {
    token: operator,
    body: { fleet: 'f1', compose: 'name: shop\nservices:\n  web:\n    image: nginx\n    ports:\n      - "eighty:80"\n' },
  });
  assert.equal(r.status, 400);
  assert.equal(r.body.code, 'invalid_compose');
  const e = r.body.details[0];
  assert.match(e.path, /^services\.web\.ports/);
  assert.equal(e.line, 6);
  assert.equal((await t.api<Release[]>('GET', '/api/apps/f1/shop/releases', { token: admin })).body.length, count);
  assert.equal(await version(pi.e.deviceId), v);
  // Bad requests are 400 before any parsing; neither fleet nor device, or both.
  assert.equal((await t.api('POST', '/api/apps/apply', { token: operator, body: { compose: 'x: 1' } })).status, 400);
  assert.equal((await t.api('POST', '/api/apps/apply', { token: operator, body: { compose: 'x: 1', fleet: 'f1', device: 'f1-pi' } })).status, 400);
  assert.equal((await t.api('POST', '/api/apps/apply', { token: operator, body: { compose: composeWith({}), fleet: 'nope' } })).status, 404);
  assert.equal((await t.api('POST', '/api/apps/apply', { token: operator, body: { compose: composeWith({}), device: 'nope' } })).status, 404);
});

test('poison input is a clear 4xx, never a 500', async () => {
  const cases: [string, string, unknown, number][] = [
    ['POST', '/api/apps/f1/shop/rollback', { release: 1e12 }, 400],
    ['POST', '/api/apps/f1/shop/rollback', { release: -1 }, 400],
    ['POST', '/api/apps/apply', { fleet: 'f1', compose: '{{{{ [' }, 400],
    ['POST', '/api/apps/apply', { fleet: 'f1', compose: 'a: &a [*a, *a]\n' }, 400],
    ['POST', '/api/apps/apply', { fleet: 'f1', compose: composeWith({}), envFiles: { '.env': 5 } }, 400],
    ['POST', '/api/apps/apply', { fleet: 'f1', compose: composeWith({}), name: '../etc' }, 400],
    ['PUT', '/api/fleets/f1/variables', { A: 'x'.repeat(5000) }, 400],
    ['PUT', '/api/fleets/f1/variables', ['A'], 400],
    ['PUT', '/api/fleets/nope/variables', {}, 404],
    ['GET', '/api/devices/nope/variables', undefined, 404],
    ['GET', '/api/apps/nope/shop/releases', undefined, 404],
    ['GET', '/api/apps?fleet=%20', undefined, 400],
    ['DELETE', '/api/apps/nope/shop', undefined, 404],
  ];
  for (const [method, path, body, status] of cases) {
    const r = await t.api(method, path, { token: operator, body });
    assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(body)?.slice(0, 60)}: ${JSON.stringify(r.body)}`);
  }
});

test('a compose file up to the parser\'s 256 KiB fits in an apply; a bigger body is 413, not a 500', async () => {
  const padded = `${composeWith({ MODE: 'big' })}${'# a long comment line to make the file large\n'.repeat(4000)}`;
  assert.ok(padded.length > 150_000 && padded.length < 256 * 1024);
  const dry = await t.api<ApplyAppResult>('POST', '/api/apps/apply', { token: operator, body: { fleet: 'f1', compose: padded, dryRun: true } });
  assert.equal(dry.status, 200, JSON.stringify(dry.body).slice(0, 300));
  const huge = await t.api('POST', '/api/apps/apply', { token: operator, body: { fleet: 'f1', compose: 'x'.repeat(3 * 1024 * 1024) } });
  assert.equal(huge.status, 413);
  const elsewhere = await t.api('PUT', '/api/fleets/f1/variables', { token: operator, body: { A: 'x'.repeat(100_000) } });
  assert.equal(elsewhere.status, 413, 'other routes keep the small limit');
});

test('viewers cannot apply, roll back or remove; they can list', async () => {
  const viewer = await t.userToken('viewer', admin);
  assert.equal((await t.api('POST', '/api/apps/apply', { token: viewer, body: { fleet: 'f1', compose: composeWith({}) } })).status, 403);
  assert.equal((await t.api('POST', '/api/apps/f1/shop/rollback', { token: viewer, body: { release: 1 } })).status, 403);
  assert.equal((await t.api('DELETE', '/api/apps/f1/shop', { token: viewer })).status, 403);
  assert.equal((await t.api('GET', '/api/apps', { token: viewer })).status, 200);
  assert.equal((await t.api('GET', '/api/apps/f1/shop/releases', { token: viewer })).status, 200);
});

test('a device that comes online again gets its state without any retained message', async () => {
  const pi = devices.find((d) => d.e.name === 'f1-pi')!;
  const current = (await desired.current(pi.e.deviceId))!;
  await pi.close();
  // The broker's retained copy goes; a fresh connection (new session) must still be sent it.
  await t.hub.app.get(MqttLink).publish(leafTopic(pi.e.deviceId, 'state/desired'), '', { qos: 1, retain: true });
  const again = await FakeDevice.connect(pi.e, 2, { announce: false });
  devices.push(again);
  await new Promise((r) => setTimeout(r, 0));
  assert.equal(again.received.length, 0, 'no retained copy is left');
  await again.announce(2);
  const m = await again.waitFor((s) => s.version === current.version, 'state sent on online');
  assert.equal(again.received[0]?.retain, false, 'a live send, not a retained copy');
  assert.deepEqual(m.apps['shop']?.services['web']?.environment, current.state.apps['shop']?.services['web']?.environment);
});

test('controls are recorded in the desired state, survive recomputes, and need an existing service', async () => {
  const pi = devices.filter((d) => d.e.name === 'f1-pi').at(-1)!;
  const id = pi.e.deviceId;
  const controls = t.hub.app.get(ControlsService);
  const actor = { id: null, username: 'tester' };
  await controls.apply(actor, id, { action: 'stop', app: 'shop', service: 'web' });
  let m = await pi.waitFor((s) => s.controls['shop']?.['web']?.stopped === true, 'stop');
  await controls.apply(actor, id, { action: 'restart', app: 'shop' });
  m = await pi.waitFor((s) => s.controls['shop']?.['worker']?.restartSeq === 1, 'restart all of shop');
  assert.equal(m.controls['shop']?.['web']?.restartSeq, 1);
  assert.equal(m.controls['shop']?.['web']?.stopped, true);
  const before = Date.now();
  await controls.apply(actor, id, { action: 'pause', minutes: 15 });
  m = await pi.waitFor((s) => s.controls['shop']?.['worker']?.pausedUntil !== undefined, 'pause');
  const until15 = m.controls['shop']!['worker']!.pausedUntil!;
  assert.ok(until15 >= before + 15 * 60_000 && until15 <= Date.now() + 15 * 60_000 + 1000);
  await controls.apply(actor, id, { action: 'reset', app: 'shop', service: 'worker' });
  await controls.apply(actor, id, { action: 'resume' });

  // A new release recomputes the state: the controls stay.
  await apply({ fleet: 'f1', compose: composeWith({ MODE: 'with-controls' }) });
  m = await pi.waitFor((s) => s.apps['shop']?.services['web']?.environment['MODE'] === 'with-controls', 'new release');
  assert.deepEqual(m.controls['shop']?.['web'], { stopped: true, restartSeq: 1, resetSeq: 0 });
  assert.deepEqual(m.controls['shop']?.['worker'], { stopped: false, restartSeq: 1, resetSeq: 1 });
  await controls.apply(actor, id, { action: 'start', app: 'shop', service: 'web' });
  await pi.waitFor((s) => s.controls['shop']?.['web']?.stopped === false, 'start');
  assert.deepEqual(await controls.controlsFor(id), {
    shop: { web: { stopped: false, restartSeq: 1, resetSeq: 0 }, worker: { stopped: false, restartSeq: 1, resetSeq: 1 } },
  });

  await assert.rejects(controls.apply(actor, id, { action: 'stop', app: 'shop', service: 'db' }), { code: 'not_found' });
  await assert.rejects(controls.apply(actor, id, { action: 'stop', app: 'nope' }), { code: 'not_found' });
  await assert.rejects(controls.apply(actor, id, { action: 'pause', app: 'shop' }), { code: 'bad_request' });
  await assert.rejects(controls.apply(actor, id, { action: 'pause', minutes: 1441 }), { code: 'bad_request' });
  await assert.rejects(controls.apply(actor, id, { action: 'stop', service: 'web' }), { code: 'bad_request' });
  await assert.rejects(controls.apply(actor, 'zzzzzzzzzzzz', { action: 'stop' }), { code: 'not_found' });
});

test('a service whose image an uploaded bundle holds gets the bundle in its spec', async () => {
  await fleet('f4');
  const pi = await device('f4', 'f4-pi');
  const db = t.hub.app.get<Db>(DB);
  const sha256 = 'a'.repeat(64);
  await db.insert(imageBundles).values({ id: 'bundle1', refs: ['registry.local/app:1', 'busybox:1.36'], sha256, size: 1234, chunkSize: 1024, chunks: ['b', 'c'] });
  await apply({ fleet: 'f4', compose: composeWith({}, 'registry.local/app:1') });
  const m = await pi.waitFor((s) => s.apps['shop'] !== undefined);
  assert.deepEqual(m.apps['shop']!.services['web']!.bundle, { id: 'bundle1', sha256, size: 1234 });
  assert.deepEqual(m.apps['shop']!.services['worker']!.bundle, { id: 'bundle1', sha256, size: 1234 });

  // A bundle uploaded after the release reaches the spec: the upload's event recomputes every fleet.
  await fleet('f5');
  const other = await device('f5', 'f5-pi');
  await apply({ fleet: 'f5', compose: composeWith({}, 'registry.local/other:2') });
  const before = await other.waitFor((s) => s.apps['shop'] !== undefined);
  assert.equal(before.apps['shop']!.services['web']!.bundle, undefined);
  await db.insert(imageBundles).values({ id: 'bundle2', refs: ['registry.local/other:2'], sha256: 'b'.repeat(64), size: 99, chunkSize: 1024, chunks: ['d'] });
  t.hub.app.get(DomainEvents).emit('images.changed', { bundleId: 'bundle2', refs: ['registry.local/other:2'], change: 'stored' });
  const after = await other.waitFor((s) => s.apps['shop']?.services['web']?.bundle !== undefined, 'bundle after upload');
  assert.equal(after.apps['shop']!.services['web']!.bundle!.id, 'bundle2');
  assert.equal(after.version, before.version + 1);
});

test('a device enrolled later gets the fleet\'s apps; a revoked device gets nothing more', async () => {
  const late = await device('f4', 'f4-late');
  const m = await late.waitFor((s) => s.apps['shop'] !== undefined, 'apps of the fleet for a new device');
  assert.equal(m.apps['shop']!.release, 1);
  const first = devices.find((d) => d.e.name === 'f4-pi')!;
  assert.equal((await t.api('POST', '/api/devices/f4-pi/revoke', { token: admin })).status, 200);
  const v = await version(first.e.deviceId);
  const r = await apply({ fleet: 'f4', compose: composeWith({ MODE: 'after-revoke' }, 'registry.local/app:1') });
  assert.deepEqual([...new Set(r.plan.map((p) => p.device))], ['f4-late']);
  await late.waitFor((s) => s.apps['shop']?.release === 2);
  assert.equal(await version(first.e.deviceId), v, 'the revoked device\'s state is not recomputed');
  assert.equal(first.received.filter((x) => x.msg.apps['shop']?.release === 2).length, 0, 'nor sent');
});

test('every action writes an audit row', async () => {
  const rows = (await t.api<AuditEntry[]>('GET', '/api/audit?limit=1000', { token: admin })).body;
  const actions = (a: string, result = 'ok') => rows.filter((r) => r.action === a && r.result === result);
  assert.ok(actions('app.apply').length >= 8);
  assert.ok(actions('app.apply', 'error').some((r) => r.detail['error'] === 'invalid_compose'));
  assert.equal(actions('app.apply').find((r) => r.target === 'f2/shop' && r.detail['device'] === 'f2-b')?.detail['release'], 2);
  assert.equal(actions('app.rollback')[0]?.detail['rollbackOf'], 1);
  assert.equal(actions('app.remove').length, 2);
  assert.ok(actions('variables.set').length >= 4);
  assert.ok(actions('variables.set', 'error').length >= 1);
  for (const a of ['service.stop', 'service.restart', 'service.pause', 'service.reset', 'service.resume', 'service.start']) {
    assert.ok(actions(a).some((r) => r.actor === 'tester' && r.targetType === 'device'), a);
  }
  assert.ok(actions('service.stop', 'error').length >= 1);
  assert.ok(!rows.some((r) => r.action.startsWith('app.') && r.detail['dryRun']), 'dry runs are not actions');
});

test('recompute of a fleet stores one version per change, whatever runs it', async () => {
  const late = devices.find((d) => d.e.name === 'f4-late')!;
  const v = await version(late.e.deviceId);
  await Promise.all([desired.recompute({ fleetId: await fleetId('f4') }), desired.recompute([late.e.deviceId]), desired.recompute([late.e.deviceId])]);
  assert.equal(await version(late.e.deviceId), v, 'nothing changed, nothing bumped');
  await until('no publish in flight', () => true);
});

async function fleetId(name: string): Promise<string> {
  const list = (await t.api<{ id: string; name: string }[]>('GET', '/api/fleets', { token: admin })).body;
  return list.find((f) => f.name === name)!.id;
}
