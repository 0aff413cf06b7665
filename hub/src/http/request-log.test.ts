import assert from 'node:assert/strict';
import { test } from 'node:test';
import { redactPath } from './request-log.js';

test('request log paths never carry a token secret', () => {
  assert.equal(redactPath('/api/tokens/pft_Ab3-_xYz09'), '/api/tokens/pft_…');
  assert.equal(redactPath('/api/tokens/k2j4h5g6f7d8'), '/api/tokens/k2j4h5g6f7d8', 'ids stay readable');
  assert.equal(redactPath('/api/devices/pi-kitchen/revoke'), '/api/devices/pi-kitchen/revoke');
});
