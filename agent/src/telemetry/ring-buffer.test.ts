import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RingBuffer } from './ring-buffer.js';

void test('keeps the newest items and counts evictions', () => {
  const r = new RingBuffer<number>(3);
  for (let i = 1; i <= 5; i++) r.push(i);
  assert.equal(r.size, 3);
  assert.equal(r.dropped, 2);
  assert.deepEqual(r.peek(10), [3, 4, 5]);
});

void test('peek does not remove, drop removes the oldest', () => {
  const r = new RingBuffer<string>(4);
  ['a', 'b', 'c'].forEach((x) => r.push(x));
  assert.deepEqual(r.peek(2), ['a', 'b']);
  r.drop(2);
  assert.deepEqual(r.peek(5), ['c']);
  r.push('d');
  r.push('e');
  r.push('f');
  r.push('g'); // wraps and evicts c
  assert.deepEqual(r.peek(5), ['d', 'e', 'f', 'g']);
  r.drop(10);
  assert.equal(r.size, 0);
  r.drop(1);
  assert.equal(r.size, 0);
});

void test('capacity must be positive', () => {
  assert.throws(() => new RingBuffer(0), RangeError);
});
