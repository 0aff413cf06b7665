import assert from 'node:assert/strict';
import { test } from 'node:test';
import { UpdateDeviceSchema, nextTags } from './devices.dto.js';

test('tag updates replace, add and remove without duplicates', () => {
  assert.deepEqual(nextTags(['a', 'b'], { tags: ['c', 'c'] }), ['c']);
  assert.deepEqual(nextTags(['a', 'b'], { addTags: ['b', 'c'] }), ['a', 'b', 'c']);
  assert.deepEqual(nextTags(['a', 'b'], { addTags: ['c'], removeTags: ['a'] }), ['b', 'c']);
});

test('device updates are validated', () => {
  assert.equal(UpdateDeviceSchema.safeParse({}).success, false);
  assert.equal(UpdateDeviceSchema.safeParse({ name: '-bad' }).success, false);
  assert.equal(UpdateDeviceSchema.safeParse({ tags: ['ok'], addTags: ['x'] }).success, false);
  assert.equal(UpdateDeviceSchema.safeParse({ tags: ['has space'] }).success, false);
  assert.equal(UpdateDeviceSchema.safeParse({ name: 'pi-kitchen', addTags: ['room=kitchen'] }).success, true);
});
