import assert from 'node:assert/strict';
import { test } from 'node:test';
import { cookie } from '../auth/auth.guard.js';
import { bodyProblem, MAX_BODY_DEPTH } from './input-guard.js';

test('body check: NUL and lone surrogates in values and keys, at any depth, are named with their place', () => {
  assert.equal(bodyProblem({ name: 'pi', tags: ['a', 'b'], info: { hostname: 'raspberrypi', cpus: 4, nested: [{ x: null }] } }), undefined);
  assert.equal(bodyProblem('🍓 ok, paired surrogates are fine'), undefined);
  assert.match(bodyProblem({ info: { hostname: 'a\u0000b' } }) ?? '', /NUL.* at info\.hostname$/);
  assert.match(bodyProblem({ tags: ['ok', '\ud800'] }) ?? '', /surrogate.* at tags\[1\]$/);
  assert.match(bodyProblem({ tags: ['\udc00x'] }) ?? '', /surrogate/);
  assert.match(bodyProblem({ info: { ['k\u0000']: 1 } }) ?? '', /key with a NUL.* at info$/);
  assert.match(bodyProblem(['\u0000']) ?? '', /at \(body\)\[0\]$/);
  let deep: unknown = 'leaf';
  for (let i = 0; i < MAX_BODY_DEPTH; i++) deep = [deep];
  assert.equal(bodyProblem(deep), undefined, `${MAX_BODY_DEPTH} levels are fine`);
  assert.match(bodyProblem([deep]) ?? '', /nested deeper/);
  // Iterative: a very deep body is refused without exhausting the stack.
  let deeper: unknown = 1;
  for (let i = 0; i < 100_000; i++) deeper = { a: deeper };
  assert.match(bodyProblem(deeper) ?? '', /nested deeper/);
});

test('cookies are read leniently: a value that does not percent-decode is skipped', () => {
  assert.equal(cookie('pifleet_session=pfs_abc', 'pifleet_session'), 'pfs_abc');
  assert.equal(cookie('a=1; pifleet_session=pfs_%41bc; b=2', 'pifleet_session'), 'pfs_Abc');
  assert.equal(cookie('pifleet_session=%E0%A4%A', 'pifleet_session'), undefined);
  assert.equal(cookie('pifleet_session=%', 'pifleet_session'), undefined);
  assert.equal(cookie('other=%FF; pifleet_session=pfs_ok', 'pifleet_session'), 'pfs_ok');
  assert.equal(cookie('pifleet_session=%FF; pifleet_session=pfs_second', 'pifleet_session'), 'pfs_second');
  assert.equal(cookie(undefined, 'pifleet_session'), undefined);
  assert.equal(cookie('=x; pifleet_session', 'pifleet_session'), undefined);
});
