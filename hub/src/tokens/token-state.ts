import type { ProvisioningToken } from '../contract.js';

export type TokenState = ProvisioningToken['state'];

/**
 * A token's state at `now`. Revocation wins over everything (an operator's decision), then expiry,
 * then exhaustion, so the enroll error names the most useful reason.
 */
export function tokenState(t: { revokedAt: Date | null; expiresAt: Date; uses: number; maxUses: number }, now: Date): TokenState {
  if (t.revokedAt) return 'revoked';
  if (t.expiresAt.getTime() <= now.getTime()) return 'expired';
  if (t.uses >= t.maxUses) return 'exhausted';
  return 'active';
}

/** Provisioning tokens start with this, so the API and CLI can tell a token from a token id. */
export const TOKEN_PREFIX = 'pft_';
/** Characters kept in clear (prefix included) to tell tokens apart in lists. */
export const VISIBLE_CHARS = 12;
