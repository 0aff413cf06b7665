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
  | 'unavailable';

export class DomainError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
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
};
