/**
 * Domain errors carry a stable `code`; the global filter maps them to HTTP statuses, so services
 * never import HTTP types.
 */
export type ErrorCode =
  | 'bad_request'
  | 'unauthenticated'
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'token_invalid'
  | 'token_expired'
  | 'token_exhausted'
  | 'token_revoked'
  | 'device_revoked'
  | 'too_many_requests'
  | 'unavailable'
  /** An uploaded image bundle is not a `docker save` / OCI archive. */
  | 'invalid_image'
  /** A body over its route's size limit (image uploads; JSON bodies get it from the parser). */
  | 'payload_too_large'
  /** The hub's data dir has no room left for what was being stored. */
  | 'disk_full'
  /** A compose file (or the variables it is interpolated with) is invalid; `details` holds the ComposeError[]. */
  | 'invalid_compose';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    /** Structured detail sent with the answer as `details` (e.g. the ComposeError[] of `invalid_compose`). */
    readonly details?: unknown,
  ) {
    super(message);
  }
}

export const HTTP_STATUS: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  token_invalid: 401,
  token_expired: 401,
  token_exhausted: 401,
  token_revoked: 401,
  device_revoked: 403,
  too_many_requests: 429,
  unavailable: 503,
  invalid_image: 400,
  payload_too_large: 413,
  disk_full: 507,
  invalid_compose: 400,
};
