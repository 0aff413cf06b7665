import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ApplyAppResult, Release } from '../contract.js';
import { usePostgresTestHub } from '../http/postgres-test-hub.js';
import type { TestHub } from '../http/test-hub.js';
import { ControlsService } from './controls.service.js';
import { DesiredStateService } from './desired-state.service.js';
import { FakeDevice, composeWith, enroll } from './apps-test-helpers.js';

/** The key paths of the desired side on real PostgreSQL (locks, jsonb comparison, ON CONFLICT ... RETURNING). */
const pg = usePostgresTestHub();

async function apply(t: TestHub, token: string, body: Record<string, unknown>): Promise<ApplyAppResult> {
  const r = await t.api<ApplyAppResult>('POST', '/api/apps/apply', { token, body });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  return r.body;
}

test('apply, change, unchanged, invalid, override, rollback and controls on PostgreSQL', async (ctx) => {
  const t = pg.get(ctx);
  if (!t) return;
  const admin = await t.login();
  const desired = t.hub.app.get(DesiredStateService);
  await t.api('POST', '/api/fleets', { token: admin, body: { name: 'pgf' } });
  const a = await FakeDevice.connect(await enroll(t, admin, 'pgf', 'pg-a'), 1);
  const b = await FakeDevice.connect(await enroll(t, admin, 'pgf', 'pg-b'), 1);
  try {
    const r1 = await apply(t, admin, { fleet: 'pgf', compose: composeWith({ MODE: 'a' }) });
    assert.equal(r1.release?.number, 1);
    const m1 = await a.waitFor((m) => m.apps['shop']?.release === 1, 'release 1 on a');
    assert.deepEqual(m1.apps['shop']!.services['web']!.environment, { MODE: 'a' });

    const r2 = await apply(t, admin, { fleet: 'pgf', compose: composeWith({ MODE: 'b' }) });
    assert.deepEqual(r2.plan.filter((p) => p.service === 'web').map((p) => [p.device, p.change, p.fields]), [
      ['pg-a', 'recreate', ['environment']],
      ['pg-b', 'recreate', ['environment']],
    ]);
    const m2 = await b.waitFor((m) => m.apps['shop']?.release === 2, 'release 2 on b');
    const v2 = (await desired.current(b.e.deviceId))!.version;
    assert.equal(m2.version, v2);

    const same = await apply(t, admin, { fleet: 'pgf', compose: composeWith({ MODE: 'b' }) });
    assert.equal(same.release?.number, 2);
    assert.ok(same.plan.every((p) => p.change === 'unchanged'));
    assert.equal((await desired.current(b.e.deviceId))!.version, v2, 'jsonb equality: no bump');

    const bad = await t.api('POST', '/api/apps/apply', { token: admin, body: { fleet: 'pgf', compose: 'services:\n  web:\n    image: 5\n    restart: sometimes\n' } });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.code, 'invalid_compose');
    assert.ok(bad.body.details.every((e: { line: number | null }) => typeof e.line === 'number'), JSON.stringify(bad.body.details));

    const o = await apply(t, admin, { device: 'pg-a', compose: composeWith({ MODE: 'own' }) });
    assert.equal(o.release?.device, 'pg-a');
    await a.waitFor((m) => m.apps['shop']?.release === 3, 'override on a');
    const rb = await t.api<ApplyAppResult>('POST', '/api/apps/pgf/shop/rollback', { token: admin, body: { release: 1, device: 'pg-a' } });
    assert.equal(rb.status, 200, JSON.stringify(rb.body));
    assert.equal(rb.body.release?.rollbackOf, 1);
    assert.equal(rb.body.release?.device, 'pg-a');
    const m4 = await a.waitFor((m) => m.apps['shop']?.release === 4, 'rollback of the override');
    assert.deepEqual(m4.apps['shop']!.services['web']!.environment, { MODE: 'a' });
    const releases = (await t.api<Release[]>('GET', '/api/apps/pgf/shop/releases', { token: admin })).body;
    assert.deepEqual(releases.map((r) => [r.number, r.device, r.current]), [
      [4, 'pg-a', true],
      [3, 'pg-a', false],
      [2, null, true],
      [1, null, false],
    ]);

    await t.hub.app.get(ControlsService).apply({ id: null, username: 'pg' }, b.e.deviceId, { action: 'stop', app: 'shop', service: 'worker' });
    await b.waitFor((m) => m.controls['shop']?.['worker']?.stopped === true, 'stop on b');
  } finally {
    await a.close();
    await b.close();
  }
});

test('concurrent releases get consecutive numbers and the stored state follows the newest', async (ctx) => {
  const t = pg.get(ctx);
  if (!t) return;
  const admin = await t.login();
  const desired = t.hub.app.get(DesiredStateService);
  await t.api('POST', '/api/fleets', { token: admin, body: { name: 'race' } });
  const d = await FakeDevice.connect(await enroll(t, admin, 'race', 'race-pi'), 1);
  try {
    const n = 8;
    const results = await Promise.all(Array.from({ length: n }, (_, i) => apply(t, admin, { fleet: 'race', compose: composeWith({ RUN: String(i) }) })));
    assert.deepEqual(results.map((r) => r.release!.number).sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i + 1));
    const newest = results.find((r) => r.release!.number === n)!;
    const env = (await t.api<Release[]>('GET', '/api/apps/race/shop/releases', { token: admin })).body[0]!.compose;
    const stored = (await desired.current(d.e.deviceId))!;
    assert.equal(stored.state.apps['shop']!.release, n, 'the newest release is in force');
    assert.ok(env.includes(`RUN: "${stored.state.apps['shop']!.services['web']!.environment['RUN']}"`));
    assert.equal(newest.app, 'shop');
    // Recomputes racing each other store no extra versions.
    await Promise.all(Array.from({ length: 6 }, () => desired.recompute([d.e.deviceId])));
    assert.equal((await desired.current(d.e.deviceId))!.version, stored.version);
    const last = await d.waitFor((m) => m.version === stored.version, 'the newest version on the device');
    assert.equal(last.apps['shop']!.release, n);
  } finally {
    await d.close();
  }
});
