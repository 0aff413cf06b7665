import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException, Inject } from '@nestjs/common';
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { isDbUnavailable, sqlState } from '../db/errors.js';
import { DomainError, HTTP_STATUS } from './errors.js';
import { MetricsService } from './metrics.service.js';
import { LOGGER } from './tokens.js';

export interface ErrorBody {
  code: string;
  message: string;
  /** Present when the error carries structured detail (DomainError.details). */
  details?: unknown;
}

/** Stable codes for statuses that come from the framework rather than from our services. */
const CODE_BY_STATUS: Record<number, string> = {
  400: 'bad_request',
  401: 'unauthenticated',
  403: 'forbidden',
  404: 'not_found',
  409: 'conflict',
  413: 'payload_too_large',
  415: 'bad_request',
  429: 'too_many_requests',
  503: 'unavailable',
};

/** SQLSTATE 22021 (invalid byte sequence, e.g. NUL in text) and 22P05 (NUL or bad escape in jsonb). */
const UNSTORABLE_TEXT = new Set(['22021', '22P05']);

/** True for zod (3 and 4) validation errors, whichever copy of zod threw them. */
export function isZodError(err: unknown): err is { issues: { path: PropertyKey[]; message: string }[] } {
  return (
    typeof err === 'object' && err !== null && (err as Error).name === 'ZodError' && Array.isArray((err as { issues?: unknown }).issues)
  );
}

export function describeZodIssues(issues: { path: PropertyKey[]; message: string }[]): string {
  return issues
    .slice(0, 5)
    .map((i) => (i.path.length ? `${i.path.map(String).join('.')}: ${i.message}` : i.message))
    .join('; ');
}

/**
 * An error as it may be logged. A failed query (drizzle wraps it with the SQL and its bound
 * values) would otherwise log the values: request input, password and token hashes. The SQL,
 * the driver's message and the SQLSTATE are kept, since they are what explains the failure.
 */
export function loggable(err: unknown): unknown {
  if (!(err instanceof Error) || !('params' in err)) return err;
  const strip = (s: string | undefined) => s?.replace(/\nparams: [\s\S]*?(?=\n {4}at |$)/, '\nparams: [redacted]');
  const cause = err.cause instanceof Error ? { type: err.cause.name, message: err.cause.message, code: sqlState(err.cause) } : undefined;
  return { type: err.name, message: strip(err.message), stack: strip(err.stack), query: (err as { query?: unknown }).query, cause };
}

/**
 * The one place that turns errors into HTTP answers (services throw domain errors with a
 * stable code; one filter maps them). Every answer is `{ code, message }`; unknown errors are
 * logged and answered with a generic 500 so internals never leak.
 */
@Catch()
export class GlobalExceptionFilter implements ExceptionFilter {
  private readonly rejected;

  constructor(
    @Inject(LOGGER) private readonly log: Logger,
    metrics: MetricsService,
  ) {
    this.rejected = metrics.counter('pifleet_http_errors_total', 'HTTP requests answered with an error, by code', ['code']);
  }

  catch(err: unknown, host: ArgumentsHost): void {
    const ctx = host.switchToHttp();
    const res = ctx.getResponse<Response>();
    const req = ctx.getRequest<Request>();
    const [status, body] = this.toHttp(err, req);
    this.rejected.inc({ code: body.code });
    if (res.headersSent) {
      // A streaming answer (SSE) already started; all we can do is end it.
      res.end();
      return;
    }
    res.status(status).json(body);
  }

  private toHttp(err: unknown, req: Request): [number, ErrorBody] {
    if (err instanceof DomainError) {
      const body: ErrorBody = { code: err.code, message: err.message };
      if (err.details !== undefined) body.details = err.details;
      return [HTTP_STATUS[err.code], body];
    }
    if (isZodError(err)) return [400, { code: 'bad_request', message: describeZodIssues(err.issues) }];
    if (err instanceof HttpException) {
      const status = err.getStatus();
      const code = CODE_BY_STATUS[status] ?? (status >= 500 ? 'internal' : 'bad_request');
      const message = status === 404 ? `no route ${req.method} ${req.path}` : err.message;
      return [status, { code, message }];
    }
    // body-parser errors (bad JSON, body too large) carry `status` and `type`.
    const e = err as { status?: number; type?: string; message?: string };
    if (typeof e?.status === 'number' && e.status >= 400 && e.status < 500) {
      const message = e.type === 'entity.parse.failed' ? 'request body is not valid JSON' : (e.message ?? 'bad request');
      return [e.status, { code: CODE_BY_STATUS[e.status] ?? 'bad_request', message }];
    }
    if (UNSTORABLE_TEXT.has(sqlState(err) ?? '')) {
      // The edge refuses NUL and invalid UTF-8 in requests; should such text still reach SQL, it
      // is the client's input the database refused, not a hub failure.
      this.log.warn({ method: req.method, path: req.path }, 'database refused text in a request');
      return [400, { code: 'bad_request', message: 'the request holds text the database cannot store (NUL or invalid UTF-8)' }];
    }
    if (isDbUnavailable(err)) {
      this.log.warn({ err: loggable(err), method: req.method, path: req.path }, 'database unavailable');
      return [503, { code: 'unavailable', message: 'database unavailable; try again shortly' }];
    }
    this.log.error({ err: loggable(err), method: req.method, path: req.path }, 'unhandled error');
    return [500, { code: 'internal', message: 'internal error' }];
  }
}
