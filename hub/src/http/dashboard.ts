import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import express, { type NextFunction, type Request, type Response } from 'express';

/** The dashboard bundle, built by `npm run build` (hub/dist/http -> dashboard/dist). */
export const DASHBOARD_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../../dashboard/dist');

const NOT_BUILT = 'pifleet hub is running, but the dashboard is not built. Run `npm run build` and reload. The API is under /api (docs at /api/docs).\n';

/**
 * Serves the SPA at `/`: static files, then index.html for any other GET that is not an API or
 * metrics path (client-side routes). Without a bundle, `/` says how to build it.
 */
export function dashboardHandlers(dir = DASHBOARD_DIR): express.RequestHandler[] {
  const index = join(dir, 'index.html');
  const isApi = (p: string) => p === '/api' || p.startsWith('/api/') || p === '/metrics' || p.startsWith('/metrics/');
  const fallback = (req: Request, res: Response, next: NextFunction): void => {
    if ((req.method !== 'GET' && req.method !== 'HEAD') || isApi(req.path)) return next();
    if (!existsSync(index)) {
      if (req.path !== '/') return next();
      res.status(200).type('text/plain').send(NOT_BUILT);
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  };
  const statics = express.static(dir, { index: false, fallthrough: true, maxAge: '1h' });
  return [(req, res, next) => (isApi(req.path) ? next() : statics(req, res, next)), fallback];
}
