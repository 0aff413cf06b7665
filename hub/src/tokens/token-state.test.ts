import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tokenState } from './token-state.js';

const now = new Date('2025-01-01T12:00:00Z');
const later = new Date('2025-01-02T12:00:00Z');
const earlier = new Date('2025-01-01T11:00:00Z');

test('a fresh token is active', () => {
  assert.equal(tokenState({ revokedAt: null, expiresAt: later, uses: 0, maxUses: 1 }, now), 'active');
});

test('expiry, exhaustion and revocation are told apart, revocation first', () => {
  assert.equal(tokenState({ revokedAt: null, expiresAt: earlier, uses: 0, maxUses: 1 }, now), 'expired');
  assert.equal(tokenState({ revokedAt: null, expiresAt: now, uses: 0, maxUses: 1 }, now), 'expired');
  assert.equal(tokenState({ revokedAt: null, expiresAt: later, uses: 3, maxUses: 3 }, now), 'exhausted');
  assert.equal(tokenState({ revokedAt: earlier, expiresAt: earlier, uses: 3, maxUses: 3 }, now), 'revoked');
  assert.equal(tokenState({ revokedAt: null, expiresAt: earlier, uses: 3, maxUses: 3 }, now), 'expired');
});
