import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import {
  HUB_STATUS_TOPIC,
  MAX_JSON_DEPTH,
  MESSAGE_REGISTRY,
  REGISTRY_ENTRIES,
  allDevices,
  decodeLeaf,
  deviceTopic,
  envelope,
  hubSubscription,
  isLeafParam,
  leafTopic,
  matchLeaf,
  type DeviceLeaf,
  type HubPublishedLeaf,
  type LeafInput,
  type RegistryLeaf,
} from './index.js';

const id = 'abcdefghij12';
const now = Date.now();
const bytes = (v: unknown): Buffer => Buffer.from(JSON.stringify(v));

/** For each leaf: a message its schema must accept, and one it must refuse. */
const samples: { [K in RegistryLeaf]: { param?: string; valid: LeafInput<K>; invalid: unknown } } = {
  status: {
    valid: { ...envelope('status'), state: 'online', session: 2 },
    invalid: { ...envelope('status'), state: 'maybe', session: 2 },
  },
  telemetry: {
    valid: { ...envelope('telemetry'), samples: [[0, 1, 2]] },
    invalid: { ...envelope('telemetry'), samples: [] },
  },
  throttled: {
    valid: { ...envelope('throttled'), reason: 'bytes', retryAfterMs: 5000 },
    invalid: { ...envelope('throttled'), reason: 'mood', retryAfterMs: 5000 },
  },
  'state/desired': {
    valid: { ...envelope('state-desired'), version: 3, apps: { web: { release: 1, services: { web: { image: 'nginx:1.27', ports: [{ target: 80, published: 8080 }] } } } } },
    invalid: { ...envelope('state-desired'), version: 3, apps: { web: { release: 1, services: { web: { image: 'nginx', ports: [80] } } } } },
  },
  'state/reported': {
    valid: { ...envelope('state-reported'), desiredVersion: 3, apps: { web: { web: { state: 'RUNNING', restarts: 0 } } }, engine: 'up' },
    invalid: { ...envelope('state-reported'), desiredVersion: 3, apps: { web: { web: { state: 'HAPPY' } } } },
  },
  'evt/+': {
    param: 'app-crashed',
    valid: { ...envelope('evt'), kind: 'app-crashed', seq: 7, at: now, data: { app: 'web', exitCode: 137 } },
    invalid: { ...envelope('evt'), kind: 'app-crashed', seq: -1, at: now, data: {} },
  },
  'cmd/+': {
    param: 'reboot',
    valid: { ...envelope('cmd'), name: 'reboot', args: {}, deadline: now + 60_000 },
    invalid: { ...envelope('cmd'), name: 'reboot', args: [], deadline: now },
  },
  'cmd/res': {
    valid: { ...envelope('cmd-res'), re: 'abc1', ok: false, error: { code: 'busy', message: 'already rebooting' } },
    invalid: { ...envelope('cmd-res'), re: '', ok: true },
  },
  'hub/status': {
    valid: { ...envelope('hub-status'), state: 'offline' },
    invalid: { ...envelope('hub-status'), state: 'gone' },
  },
};

test('every entry round-trips topic -> match, with and without a device id in the topic', () => {
  for (const e of REGISTRY_ENTRIES) {
    const leaf = e.leaf as RegistryLeaf;
    const { param } = samples[leaf];
    assert.equal(e.leaf.includes('+'), param !== undefined, `${leaf}: sample param`);
    const topic = leafTopic(id, leaf, param);
    const m = matchLeaf(topic);
    assert.ok(m, `${leaf}: ${topic} matches`);
    assert.equal(m.leaf, leaf);
    assert.equal(m.entry, e);
    assert.equal(m.param, param);
    assert.equal(m.deviceId, e.root === 'device' ? id : undefined);
  }
});

test('directions, QoS and retain flags are as the protocol specifies', () => {
  const expected: Record<RegistryLeaf, [string, 0 | 1, boolean]> = {
    status: ['device', 1, true],
    telemetry: ['device', 1, false],
    throttled: ['hub', 0, false],
    'state/desired': ['hub', 1, true],
    'state/reported': ['device', 1, true],
    'evt/+': ['device', 1, false],
    'cmd/+': ['hub', 1, false],
    'cmd/res': ['device', 1, false],
    'hub/status': ['hub', 1, true],
  };
  assert.deepEqual(Object.keys(MESSAGE_REGISTRY).sort(), Object.keys(expected).sort());
  for (const e of REGISTRY_ENTRIES) assert.deepEqual([e.direction, e.qos, e.retain], expected[e.leaf as RegistryLeaf], e.leaf);
});

test('existing topics keep their strings', () => {
  assert.equal(leafTopic(id, 'status'), `pifleet/v1/dev/${id}/status`);
  assert.equal(leafTopic(id, 'telemetry'), `pifleet/v1/dev/${id}/telemetry`);
  assert.equal(leafTopic(id, 'throttled'), `pifleet/v1/dev/${id}/throttled`);
  assert.equal(leafTopic(id, 'hub/status'), HUB_STATUS_TOPIC);
  assert.equal(HUB_STATUS_TOPIC, 'pifleet/v1/hub/status');
  for (const leaf of ['status', 'telemetry', 'throttled'] as const) {
    assert.equal(leafTopic(id, leaf), deviceTopic(id, leaf));
    assert.equal(allDevices(leaf), `pifleet/v1/dev/+/${leaf}`);
  }
  assert.equal(hubSubscription('status'), allDevices('status'));
});

test('hub subscriptions and device filters keep the wildcard of a parameterised leaf', () => {
  assert.equal(hubSubscription('evt/+'), 'pifleet/v1/dev/+/evt/+');
  assert.equal(hubSubscription(MESSAGE_REGISTRY['cmd/res']), 'pifleet/v1/dev/+/cmd/res');
  assert.equal(leafTopic(id, 'cmd/+'), `pifleet/v1/dev/${id}/cmd/+`);
  assert.equal(leafTopic(id, 'cmd/+', 'reboot'), `pifleet/v1/dev/${id}/cmd/reboot`);
});

test('params are single safe levels and never shadow an exact leaf', () => {
  assert.ok(isLeafParam('cmd/+', 'reboot'));
  for (const bad of ['res', '+', '#', 'a/b', '', 'UPPER', 'x'.repeat(33)]) {
    assert.ok(!isLeafParam('cmd/+', bad), bad);
    assert.throws(() => leafTopic(id, 'cmd/+', bad), RangeError);
  }
  assert.throws(() => leafTopic(id, 'status', 'x'), RangeError, 'an exact leaf takes no param');
  assert.equal(matchLeaf(`pifleet/v1/dev/${id}/cmd/res`)?.leaf, 'cmd/res');
  assert.equal(matchLeaf(`pifleet/v1/dev/${id}/cmd/Reboot`), undefined);
  assert.equal(matchLeaf(`pifleet/v1/dev/${id}/evt/a/b`), undefined);
  assert.equal(matchLeaf(`pifleet/v1/dev/${id}/logs`), undefined);
  assert.equal(matchLeaf('pifleet/v1/dev/NOTANID/status'), undefined);
  assert.equal(matchLeaf('pifleet/v1/hub/other'), undefined);
  assert.equal(matchLeaf('elsewhere/status'), undefined);
});

test('schemas accept a valid sample and refuse an invalid one', () => {
  for (const leaf of Object.keys(samples) as RegistryLeaf[]) {
    const { param, valid, invalid } = samples[leaf];
    const ok = decodeLeaf(leaf, bytes(valid), param);
    assert.ok(ok.ok, `${leaf} valid: ${ok.ok ? '' : ok.detail}`);
    const bad = decodeLeaf(leaf, bytes(invalid), param);
    assert.ok(!bad.ok && bad.error === 'invalid', `${leaf} invalid`);
  }
});

test('an event or command whose kind or name differs from its topic is refused', () => {
  const r = decodeLeaf('evt/+', bytes(samples['evt/+'].valid), 'boot');
  assert.ok(!r.ok && /does not match/.test(r.detail));
  const c = decodeLeaf('cmd/+', bytes({ ...samples['cmd/+'].valid, name: 'res' }), 'res');
  assert.ok(!c.ok);
});

test('free-form members are bounded in depth and cleaned for storage', () => {
  let deep: unknown = 1;
  for (let i = 0; i < MAX_JSON_DEPTH + 1; i++) deep = { d: deep };
  const tooDeep = decodeLeaf('evt/+', bytes({ ...samples['evt/+'].valid, data: deep }), 'app-crashed');
  assert.ok(!tooDeep.ok);
  // Far deeper than any recursion could survive: refused, not thrown.
  const hostile = Buffer.from(`{"v":1,"type":"cmd-res","id":"x","ts":1,"re":"a","ok":true,"result":${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
  assert.ok(!decodeLeaf('cmd/res', hostile).ok);
  const dirty = decodeLeaf('evt/+', bytes({ ...samples['evt/+'].valid, data: { 'k\u0000': ['a\u0000b', '\ud800'] } }), 'app-crashed');
  assert.ok(dirty.ok);
  assert.deepEqual(dirty.value.data, { k: ['ab', '\ufffd'] });
  const many = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`a${i}`, { s: { state: 'RUNNING' } }]));
  assert.ok(decodeLeaf('state/reported', bytes({ ...samples['state/reported'].valid, apps: { a0: { s: { state: 'RUNNING' } } } })).ok);
  assert.ok(!decodeLeaf('state/reported', bytes({ ...samples['state/reported'].valid, apps: many })).ok, 'more apps than a state may list');
});

test('every registry entry appears in the README topic table, and nothing else does', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const rows = new Map<string, string[]>();
  for (const line of readme.split('\n')) {
    if (!line.startsWith('| `pifleet/')) continue;
    // Cells are split on unescaped pipes (`online\|offline` stays in one cell).
    const cells = line.split(/(?<!\\)\|/).slice(1, -1).map((c) => c.trim());
    rows.set(cells[0]!.replaceAll('`', ''), cells);
  }
  for (const e of REGISTRY_ENTRIES) {
    const rel = e.paramField ? e.leaf.replace('+', `{${e.paramField}}`) : e.leaf;
    const topic = e.root === 'hub' ? `pifleet/v1/${rel}` : `pifleet/v1/dev/{id}/${rel}`;
    const row = rows.get(topic);
    assert.ok(row, `README lists ${topic}`);
    assert.ok(row[1]!.startsWith(e.direction), `${topic}: from ${e.direction}`);
    assert.equal(row[2], String(e.qos), `${topic}: QoS`);
    assert.equal(row[3], e.retain ? 'yes' : 'no', `${topic}: retain`);
    rows.delete(topic);
  }
  assert.deepEqual([...rows.keys()], [], 'README rows without a registry entry');
});

// Compile-time checks: the derived types are what callers rely on.
const deviceLeaf: DeviceLeaf = 'evt/+';
const hubLeaf: HubPublishedLeaf = 'cmd/+';
// @ts-expect-error a device-published leaf is not hub-published
const notHub: HubPublishedLeaf = 'telemetry';
// @ts-expect-error the hub's own topic is not under a device root
const notDevice: DeviceLeaf = 'hub/status';
void [deviceLeaf, hubLeaf, notHub, notDevice];
