import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, sleep } from './backoff.js';

void test('window doubles from the base and stops at the cap', () => {
  const b = new Backoff({ baseMs: 1000, capMs: 15_000, random: () => 0.999999 });
  const delays = Array.from({ length: 7 }, () => b.next());
  assert.deepEqual(delays, [999, 1999, 3999, 7999, 14_999, 14_999, 14_999]);
});

void test('full jitter: delays spread over [0, ceiling)', () => {
  const b = new Backoff({ baseMs: 1000, capMs: 15_000 });
  for (let i = 0; i < 5; i++) b.next(); // reach the cap
  const draws = Array.from({ length: 2000 }, () => b.next());
  assert.ok(draws.every((d) => Number.isInteger(d) && d >= 0 && d < 15_000));
  // Uniform on [0, 15000): both halves of the window are well populated.
  assert.ok(draws.filter((d) => d < 7500).length > 800);
  assert.ok(draws.filter((d) => d >= 7500).length > 800);
  assert.ok(new Set(draws).size > 1500);
});

void test('reset after success starts again from the base window', () => {
  const b = new Backoff({ baseMs: 1000, capMs: 15_000, random: () => 0.5 });
  b.next();
  b.next();
  b.next();
  assert.equal(b.ceiling(), 8000);
  b.reset();
  assert.equal(b.attempts, 0);
  assert.equal(b.next(), 500);
});

void test('huge attempt counts stay finite', () => {
  const b = new Backoff({ baseMs: 1, capMs: 10, random: () => 0.5 });
  for (let i = 0; i < 5000; i++) b.next();
  assert.equal(b.ceiling(), 10);
});

void test('invalid options are rejected', () => {
  assert.throws(() => new Backoff({ baseMs: 0, capMs: 10 }), RangeError);
  assert.throws(() => new Backoff({ baseMs: 100, capMs: 10 }), RangeError);
});

void test('sleep ends early on abort and leaves no timer behind', async () => {
  const ac = new AbortController();
  const started = Date.now();
  setTimeout(() => ac.abort(), 20);
  await sleep(60_000, ac.signal);
  assert.ok(Date.now() - started < 5000);
  await sleep(60_000, ac.signal); // already aborted: immediate
});
