/**
 * True when a query failed on a unique constraint (SQLSTATE 23505). Drizzle wraps driver errors,
 * and pg and PGlite both expose the SQLSTATE as `code`, so look at the error and its causes.
 */
export function isUniqueViolation(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    if ((e as { code?: unknown }).code === '23505') return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** Network errors and SQLSTATE class 08 / 57P0x: the database is away, not the request wrong. */
const UNAVAILABLE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', '57P01', '57P02', '57P03']);
const UNAVAILABLE_MESSAGE = /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i;

/** True when a query failed because the database could not be reached (answered 503, retried by clients). */
export function isDbUnavailable(err: unknown): boolean {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && (UNAVAILABLE_CODES.has(code) || code.startsWith('08'))) return true;
    if (UNAVAILABLE_MESSAGE.test(String((e as { message?: unknown }).message ?? ''))) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/**
 * What a failed write means for the rows in it:
 * - `data`: the database refused these values (SQLSTATE class 22 data exception, 23 integrity
 *   violation, 54 program limit such as an oversized index row). Retrying cannot help; the rows
 *   that cause it are isolated and dropped, the rest written.
 * - `transient`: the database is away or busy (connection errors, class 08, 40 rollback, 53
 *   insufficient resources such as a full disk, 55 lock, 57 operator intervention, 58 I/O), or
 *   an error we cannot classify. The rows are kept and the write retried with backoff.
 */
export type WriteFailure = 'data' | 'transient';

const DATA_CLASSES = new Set(['22', '23', '54']);

export function classifyWriteError(err: unknown): WriteFailure {
  if (isDbUnavailable(err)) return 'transient';
  const code = sqlState(err);
  return code && DATA_CLASSES.has(code.slice(0, 2)) ? 'data' : 'transient';
}

/** The SQLSTATE of a driver error (pg and PGlite both put it in `code`), through drizzle's wrapping. */
export function sqlState(err: unknown): string | undefined {
  let e: unknown = err;
  for (let depth = 0; depth < 4 && e && typeof e === 'object'; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code;
    e = (e as { cause?: unknown }).cause;
  }
  return undefined;
}
