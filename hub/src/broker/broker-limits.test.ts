import assert from 'node:assert/strict';
import { test } from 'node:test';
import { deviceTopic } from '@pifleet/protocol';
import { addressGroup } from './packet-guard.js';
import { RetainedBudget } from './retained-limits.js';

const A = 'aaaaaaaaaaa1';

test('addresses are grouped per IPv4 address and per IPv6 /64', () => {
  assert.equal(addressGroup('192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('::ffff:192.0.2.7'), '192.0.2.7');
  assert.equal(addressGroup('2001:db8:1:2:aaaa::1'), '2001:db8:1:2::/64');
  assert.equal(addressGroup('2001:0db8:0001:0002:ffff:ffff:ffff:ffff'), '2001:db8:1:2::/64');
  assert.equal(addressGroup('2001:db8::1'), '2001:db8:0:0::/64');
  assert.equal(addressGroup('fe80::1%eth0'), 'fe80:0:0:0::/64');
  assert.equal(addressGroup('::1'), '0:0:0:0::/64');
  assert.equal(addressGroup('not-an-ip'), 'not-an-ip');
});

test('the retained budget counts topics and bytes per device; clearing frees, replacing re-books', () => {
  const b = new RetainedBudget(2, 100);
  const t = (leaf: string) => deviceTopic(A, leaf);
  assert.equal(b.admit(t('a'), 10), 'ok');
  assert.equal(b.admit(t('b'), 10), 'ok');
  assert.equal(b.admit(t('c'), 1), 'retained_count');
  assert.equal(b.admit(t('a'), 20), 'ok', 'replacing a stored topic needs no new slot');
  assert.equal(b.usage(A).bytes, 2 * t('a').length + 30);
  assert.equal(b.admit(t('b'), 100), 'retained_bytes');
  assert.equal(b.admit(t('b'), 0), 'ok');
  assert.equal(b.admit(t('c'), 1), 'ok', 'the cleared slot is free again');
  assert.equal(b.admit(t('zzz'), 0), 'ok', 'clearing what is not stored is harmless');
  assert.deepEqual(b.usage(A), { topics: 2, bytes: 2 * t('a').length + 21 });
  // Outside device subtrees nothing is counted.
  assert.equal(b.admit('pifleet/v1/hub/status', 10_000), 'ok');
});

test('a revoked device retains nothing until it is enrolled again; clearing still passes', () => {
  const b = new RetainedBudget();
  b.revoke(A);
  assert.equal(b.admit(deviceTopic(A, 'status'), 10), 'revoked');
  assert.equal(b.admit(deviceTopic(A, 'status'), 0), 'ok');
  b.restore(A);
  assert.equal(b.admit(deviceTopic(A, 'status'), 10), 'ok');
});

test('messages found in the persistence are booked even past the limits', () => {
  const b = new RetainedBudget(1, 100);
  b.book(deviceTopic(A, 'a'), 90);
  b.book(deviceTopic(A, 'b'), 90);
  assert.equal(b.usage(A).topics, 2);
  assert.equal(b.admit(deviceTopic(A, 'c'), 1), 'retained_count');
  assert.equal(b.admit(deviceTopic(A, 'a'), 0), 'ok');
  assert.equal(b.admit(deviceTopic(A, 'b'), 0), 'ok');
  assert.deepEqual(b.usage(A), { topics: 0, bytes: 0 });
});
