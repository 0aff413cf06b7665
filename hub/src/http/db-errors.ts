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
