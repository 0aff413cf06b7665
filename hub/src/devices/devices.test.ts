import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import type { CreatedToken, Device, Overview } from '../contract.js';
import { enrollBody, startTestHub, type Loose, type TestHub } from '../http/test-hub.js';

let t: TestHub;
let admin: string;
const ids: Record<string, string> = {};

before(async () => {
  t = await startTestHub();
  admin = await t.login();
  await t.api('POST', '/api/fleets', { token: admin, body: { name: 'lab' } });
  for (const [name, fleet] of [['alpha', 'default'], ['beta', 'default'], ['gamma', 'lab']] as const) {
    const tok = (await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body: { fleet } })).body;
    const r = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token, { name }) });
    assert.equal(r.status, 200);
    ids[name] = r.body.deviceId;
  }
});
after(async () => {
  await t?.close();
});

const names = (list: Device[]) => list.map((d) => d.name).sort();

test('devices are listed with fleet, tags and status, and found by id or name', async () => {
  const list = (await t.api<Device[]>('GET', '/api/devices', { token: admin })).body;
  assert.deepEqual(names(list), ['alpha', 'beta', 'gamma']);
  const g = list.find((d) => d.name === 'gamma')!;
  assert.equal(g.fleet, 'lab');
  assert.equal(g.online, false);
  assert.deepEqual(g.tags, []);
  assert.equal(g.status, 'active');
  assert.ok('lastTelemetry' in g);
  assert.equal((await t.api<Device>('GET', `/api/devices/${ids['gamma']}`, { token: admin })).body.name, 'gamma');
  const missing = await t.api('GET', '/api/devices/nope', { token: admin });
  assert.equal(missing.status, 404);
  assert.equal(missing.body.code, 'not_found');
});

test('rename: new names work, taken names are 409, bad names 400', async () => {
  const r = await t.api<Device>('PATCH', '/api/devices/alpha', { token: admin, body: { name: 'alpha-1' } });
  assert.equal(r.status, 200);
  assert.equal(r.body.name, 'alpha-1');
  const taken = await t.api('PATCH', '/api/devices/alpha-1', { token: admin, body: { name: 'beta' } });
  assert.equal(taken.status, 409);
  assert.equal(taken.body.code, 'conflict');
  const bad = await t.api('PATCH', '/api/devices/alpha-1', { token: admin, body: { name: 'has space' } });
  assert.equal(bad.status, 400);
  assert.equal((await t.api<Device>('GET', `/api/devices/${ids['alpha']}`, { token: admin })).body.name, 'alpha-1');
  const viewer = await t.userToken('viewer', admin);
  assert.equal((await t.api('PATCH', '/api/devices/beta', { token: viewer, body: { name: 'mine' } })).status, 403);
  const operator = await t.userToken('operator', admin);
  assert.equal((await t.api('PATCH', '/api/devices/alpha-1', { token: operator, body: { name: 'alpha' } })).status, 200);
});

test('tags: replace, add, remove; filters by tag, q, fleet and online', async () => {
  await t.api('PATCH', '/api/devices/alpha', { token: admin, body: { tags: ['room=kitchen', 'camera'] } });
  const added = await t.api<Device>('PATCH', '/api/devices/beta', { token: admin, body: { addTags: ['camera', 'camera'] } });
  assert.deepEqual(added.body.tags, ['camera']);
  const removed = await t.api<Device>('PATCH', '/api/devices/alpha', { token: admin, body: { removeTags: ['camera'], addTags: ['v2'] } });
  assert.deepEqual(removed.body.tags, ['room=kitchen', 'v2']);
  const tooMany = await t.api('PATCH', '/api/devices/alpha', { token: admin, body: { tags: Array.from({ length: 33 }, (_, i) => `t${i}`) } });
  assert.equal(tooMany.status, 400);

  const get = async (qs: string) => names((await t.api<Device[]>('GET', `/api/devices?${qs}`, { token: admin })).body);
  assert.deepEqual(await get('tag=camera'), ['beta']);
  assert.deepEqual(await get('q=kitch'), ['alpha']);
  assert.deepEqual(await get('q=GAM'), ['gamma']);
  assert.deepEqual(await get(`q=${ids['beta']!.slice(0, 6)}`), ['beta']);
  assert.deepEqual(await get('q=%25'), []);
  assert.deepEqual(await get('fleet=lab'), ['gamma']);
  assert.deepEqual(await get('online=true'), []);
  assert.deepEqual(await get('online=false'), ['alpha', 'beta', 'gamma']);
  assert.equal((await t.api('GET', '/api/devices?online=maybe', { token: admin })).status, 400);
});

test('revoke: admin only, device stays listed as revoked, overview counts it apart', async () => {
  const operator = await t.userToken('operator', admin);
  assert.equal((await t.api('POST', '/api/devices/gamma/revoke', { token: operator })).status, 403);
  const r = await t.api<Device>('POST', '/api/devices/gamma/revoke', { token: admin });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.status, 'revoked');
  assert.equal(r.body.online, false);
  const list = (await t.api<Device[]>('GET', '/api/devices', { token: admin })).body;
  assert.equal(list.find((d) => d.name === 'gamma')?.status, 'revoked');
  const o = (await t.api<Overview>('GET', '/api/overview', { token: admin })).body;
  assert.equal(o.total, 2);
  assert.equal(o.revoked, 1);
  assert.equal(o.offline, 2);
  assert.deepEqual(
    o.fleets.map((f) => [f.name, f.total]),
    [
      ['default', 2],
      ['lab', 0],
    ],
  );
});

test('telemetry history answers a series and validates its window', async () => {
  const r = await t.api('GET', '/api/devices/alpha/telemetry?resolution=raw', { token: admin });
  assert.equal(r.status, 200, JSON.stringify(r.body));
  assert.equal(r.body.deviceId, ids['alpha']);
  assert.ok(Array.isArray(r.body.points));
  const bad = await t.api('GET', '/api/devices/alpha/telemetry?from=yesterday', { token: admin });
  assert.equal(bad.status, 400);
});

/** Reads named SSE events from a stream until `until` says stop; bounded by `ms`. */
async function readEvents(path: string, token: string, act: () => Promise<void>, until: (events: { event: string; data: Loose }[]) => boolean, ms = 10_000) {
  const ctl = new AbortController();
  const timer = setTimeout(() => ctl.abort(), ms);
  const events: { event: string; data: Loose }[] = [];
  try {
    const res = await fetch(t.url + path, { headers: { authorization: `Bearer ${token}` }, signal: ctl.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buf = '';
    let acted = false;
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let i: number;
      while ((i = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data) });
      }
      if (!acted && events.length > 0) {
        acted = true;
        await act();
      }
      if (until(events)) break;
    }
  } finally {
    clearTimeout(timer);
    ctl.abort();
  }
  return events;
}

test('live events: snapshot first, then a device event after a rename', async () => {
  const viewer = await t.userToken('viewer', admin);
  const events = await readEvents(
    '/api/events',
    viewer,
    async () => {
      const r = await t.api('PATCH', '/api/devices/beta', { token: admin, body: { name: 'beta-live' } });
      assert.equal(r.status, 200);
    },
    (ev) => ev.some((e) => e.event === 'device' && e.data.name === 'beta-live'),
  );
  assert.equal(events[0]?.event, 'snapshot');
  assert.deepEqual(names(events[0]!.data.devices), ['alpha', 'beta', 'gamma']);
  const delta = events.find((e) => e.event === 'device');
  assert.equal(delta?.data.id, ids['beta']);
  assert.equal(delta?.data.name, 'beta-live');
});

// Stream caps (global and per user) are covered in events-caps.test.ts.

test('a live stream ends once its session is logged out (authorisation is re-checked, not only at open)', async () => {
  const { REVALIDATE_MS } = await import('./events.controller.js');
  const session = await t.login();
  const res = await fetch(`${t.url}/api/events`, { headers: { authorization: `Bearer ${session}` } });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  const first = await reader.read();
  assert.match(new TextDecoder().decode(first.value), /event: snapshot/);
  assert.equal((await t.api('POST', '/api/auth/logout', { token: session })).status, 204);
  const t0 = Date.now();
  // Read until the hub ends the stream (heartbeats may come first); bounded by the deadline.
  const deadline = t0 + REVALIDATE_MS + 5000;
  let ended = false;
  while (!ended && Date.now() < deadline) {
    const chunk = await Promise.race([reader.read(), new Promise<undefined>((r) => setTimeout(() => r(undefined), deadline - Date.now()))]);
    if (chunk?.done) ended = true;
  }
  assert.ok(ended, `stream still open ${Date.now() - t0} ms after logout`);
  assert.ok(Date.now() - t0 <= REVALIDATE_MS + 1000);
});
