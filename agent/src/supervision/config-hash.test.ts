import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ServiceSpecSchema, type ServiceSpecInput } from '@pifleet/protocol';
import { canonicalJson, configHash, rulesKey } from './config-hash.js';

const spec = (s: ServiceSpecInput) => ServiceSpecSchema.parse(s);

void test('the hash does not depend on key order, and is short hex', () => {
  const a = spec({ image: 'x', environment: { A: '1', B: '2' }, labels: { l: 'v' } });
  const b = spec({ labels: { l: 'v' }, environment: { B: '2', A: '1' }, image: 'x' });
  assert.equal(configHash(a), configHash(b));
  assert.match(configHash(a), /^[0-9a-f]{16}$/);
  assert.equal(canonicalJson({ b: 1, a: { d: [2, 1], c: undefined } }), '{"a":{"d":[2,1]},"b":1}');
});

void test('what reaches the engine changes the hash; restart policy and supervision rules do not', () => {
  const base = spec({ image: 'x', command: ['a', 'b'] });
  const h = configHash(base);
  const changed: ServiceSpecInput[] = [
    { image: 'y', command: ['a', 'b'] },
    { image: 'x', command: ['b', 'a'] },
    { image: 'x', command: ['a', 'b'], environment: { A: '1' } },
    { image: 'x', command: ['a', 'b'], ports: [{ target: 80 }] },
    { image: 'x', command: ['a', 'b'], healthcheck: null },
    { image: 'x', command: ['a', 'b'], stopGraceMs: 1 },
  ];
  for (const c of changed) assert.notEqual(configHash(spec(c)), h, JSON.stringify(c));
  const same: ServiceSpecInput[] = [
    { image: 'x', command: ['a', 'b'], restart: 'always' },
    { image: 'x', command: ['a', 'b'], supervision: { startSecs: 1, startRetries: 1 } },
  ];
  for (const c of same) assert.equal(configHash(spec(c)), h, JSON.stringify(c));
  assert.notEqual(rulesKey(spec(same[0]!)), rulesKey(base));
  assert.notEqual(rulesKey(spec(same[1]!)), rulesKey(base));
});
