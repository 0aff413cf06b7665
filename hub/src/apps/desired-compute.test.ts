import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  ParseCache,
  bundleIndex,
  computeDevice,
  groupErrors,
  normaliseRef,
  planFor,
  type DeviceInputs,
  type FleetInputs,
  type ReleaseContent,
} from './desired-compute.js';

const release = (number: number, compose: string, removed = false): ReleaseContent => ({ id: `r${number}`, number, compose, envFiles: {}, removed });
const compose = (env: string) => `services:\n  web:\n    image: nginx\n    environment:\n      ROOM: "${env}"\n`;

function fleet(apps: FleetInputs['apps'], vars: Record<string, string> = {}): FleetInputs {
  return { fleetId: 'f', vars, apps, bundles: bundleIndex([{ id: 'b1', refs: ['docker.io/library/nginx:latest'], sha256: 'c'.repeat(64), size: 5 }]) };
}
const device = (id: string, vars: Record<string, string> = {}, extra: Partial<DeviceInputs> = {}): DeviceInputs => ({ id, name: id, vars, controls: [], stored: null, ...extra });

test('image references are compared as Docker reads them', () => {
  assert.equal(normaliseRef('nginx'), 'library/nginx:latest');
  assert.equal(normaliseRef('docker.io/library/nginx:latest'), 'library/nginx:latest');
  assert.equal(normaliseRef('registry.local:5000/app'), 'registry.local:5000/app:latest');
  assert.equal(normaliseRef('registry.local:5000/app:1'), 'registry.local:5000/app:1');
  assert.equal(normaliseRef('app@sha256:abc'), 'library/app@sha256:abc');
});

test('a device gets the fleet release or its override, with its variables, bundles and only the controls of services it has', () => {
  const f = fleet([
    { id: 'a1', name: 'shop', fleetRelease: release(1, compose('${ROOM}')), overrides: new Map([['d2', release(2, compose('own'))]]) },
    { id: 'a2', name: 'gone', fleetRelease: release(3, '', true), overrides: new Map() },
  ]);
  const cache = new ParseCache();
  const control = { app: 'shop', service: 'web', stopped: true, pausedUntil: null, restartSeq: 0, resetSeq: 0 };
  const ghost = { ...control, service: 'db' };
  const d1 = computeDevice(f, device('d1', { ROOM: 'hall' }, { controls: [control, ghost] }), cache);
  assert.deepEqual(d1.failures, []);
  assert.deepEqual(Object.keys(d1.body.apps), ['shop']);
  assert.equal(d1.body.apps['shop']!.release, 1);
  assert.deepEqual(d1.body.apps['shop']!.services['web']!.environment, { ROOM: 'hall' });
  assert.deepEqual(d1.body.apps['shop']!.services['web']!.bundle, { id: 'b1', sha256: 'c'.repeat(64), size: 5 });
  assert.deepEqual(d1.body.controls, { shop: { web: { stopped: true, restartSeq: 0, resetSeq: 0 } } });
  const d2 = computeDevice(f, device('d2'), cache);
  assert.equal(d2.body.apps['shop']!.release, 2);
  assert.deepEqual(d2.body.apps['shop']!.services['web']!.environment, { ROOM: 'own' });
});

test('an app a device lacks a variable for keeps its previous spec there, reported as a failure', () => {
  const f = fleet([{ id: 'a1', name: 'shop', fleetRelease: release(4, compose('${ROOM:?needed}')), overrides: new Map() }]);
  const cache = new ParseCache();
  const fresh = computeDevice(f, device('d1'), cache);
  assert.equal(fresh.failures.length, 1);
  assert.deepEqual(fresh.body.apps, {});
  const ok = computeDevice(f, device('d2', { ROOM: 'x' }), cache).body;
  const kept = computeDevice(f, device('d3', {}, { stored: ok }), cache);
  assert.equal(kept.failures[0]?.app, 'shop');
  assert.deepEqual(kept.body.apps['shop'], ok.apps['shop']);
});

test('plans say create, recreate with fields, unchanged and remove', () => {
  const f = fleet([{ id: 'a1', name: 'shop', fleetRelease: release(1, compose('a')), overrides: new Map() }]);
  const cache = new ParseCache();
  const a = computeDevice(f, device('d'), cache).body.apps['shop']!;
  const b = computeDevice(fleet([{ id: 'a1', name: 'shop', fleetRelease: release(2, compose('b')), overrides: new Map() }]), device('d'), cache).body.apps['shop']!;
  assert.deepEqual(planFor('d', 'shop', undefined, a), [{ device: 'd', app: 'shop', service: 'web', change: 'create' }]);
  assert.deepEqual(planFor('d', 'shop', a, b), [{ device: 'd', app: 'shop', service: 'web', change: 'recreate', fields: ['environment'] }]);
  assert.deepEqual(planFor('d', 'shop', a, a), [{ device: 'd', app: 'shop', service: 'web', change: 'unchanged' }]);
  assert.deepEqual(planFor('d', 'shop', a, null), [{ device: 'd', app: 'shop', service: 'web', change: 'remove' }]);
});

test('the same error on several devices is listed once, naming them unless it concerns all', () => {
  const e = { path: 'services.web.environment.ROOM', line: 5, message: 'ROOM is not set' };
  const names = Array.from({ length: 7 }, (_, i) => `pi${i}`);
  const some = groupErrors(names.map((device) => ({ device, errors: [e] })), 10);
  assert.equal(some.length, 1);
  assert.match(some[0]!.message, /ROOM is not set \(devices pi0, pi1, pi2, pi3, pi4 and 2 more\)/);
  assert.equal(groupErrors(names.map((device) => ({ device, errors: [e] })), 7)[0]!.message, 'ROOM is not set');
  assert.match(groupErrors([{ device: 'solo', errors: [e] }], 1)[0]!.message, /\(device solo\)/);
});
