import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Caller } from '../auth/roles.decorator.js';
import type { MetricsService } from '../common/metrics.service.js';

/**
 * One structured log line and one metric sample per HTTP request. Logs the path without the query
 * string and never headers, so tokens and cookies cannot reach the log. The route label is the
 * matched route pattern (e.g. /api/devices/:idOrName), keeping metric cardinality bounded.
 */
export function requestLog(log: Logger, metrics: MetricsService) {
  const requests = metrics.counter('pifleet_http_requests_total', 'HTTP requests, by method, route and status', ['method', 'route', 'status']);
  const duration = metrics.histogram(
    'pifleet_http_request_duration_seconds',
    'HTTP request duration',
    [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    ['method', 'route'],
  );
  return (req: Request, res: Response, next: NextFunction): void => {
    const start = process.hrtime.bigint();
    res.on('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const route = routeOf(req);
      requests.inc({ method: req.method, route, status: String(res.statusCode) });
      // Streams (SSE) last as long as the client stays; they would only skew the histogram.
      if (!res.getHeader('content-type')?.toString().startsWith('text/event-stream')) {
        duration.observe({ method: req.method, route }, seconds);
      }
      const caller = (req as Request & { caller?: Caller }).caller;
      log.info(
        { method: req.method, path: redactPath(req.path), status: res.statusCode, ms: Math.round(seconds * 1000), user: caller?.username },
        'http',
      );
    });
    next();
  };
}

/** `DELETE /api/tokens/<secret>` is allowed (revoke by the token itself); keep the secret out of logs. */
export function redactPath(path: string): string {
  return path.replace(/\b(pf[a-z]_)[A-Za-z0-9_-]+/g, '$1…');
}

function routeOf(req: Request): string {
  const p = (req.route as { path?: unknown } | undefined)?.path;
  if (typeof p === 'string') return req.baseUrl + p;
  if (req.path.startsWith('/api/') || req.path === '/metrics') return 'unmatched';
  return 'static';
}
