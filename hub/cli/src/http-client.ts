import type { z } from 'zod';
import { ApiErrorSchema } from './schemas.js';
import { AuthError, CliError, HubError, oneLine } from './errors.js';

export type FetchFn = typeof fetch;

/** Long enough for a hub under load, short enough that a dead hub does not hang a CI job. */
const REQUEST_TIMEOUT_MS = 30_000;

/**
 * The CLI's only way to the hub: JSON over HTTP with a bearer token. Every failure becomes a
 * CliError with the exit code scripts rely on (see errors.ts).
 */
export class HubClient {
  readonly hub: string;

  constructor(
    hub: string,
    private readonly token: string | undefined,
    private readonly fetchFn: FetchFn = fetch,
  ) {
    this.hub = normalizeHubUrl(hub);
  }

  async request<S extends z.ZodType>(method: string, path: string, schema: S, body?: unknown): Promise<z.infer<S>> {
    const res = await this.send(method, path, body);
    const data = await readJson(res, method, path);
    const parsed = schema.safeParse(data);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      const where = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid shape';
      throw new CliError(`unexpected response from hub for ${method} ${path} (${where}); is the CLI the same version as the hub?`);
    }
    return parsed.data;
  }

  /** For calls whose answer the CLI does not need (logout answers 204). */
  async call(method: string, path: string, body?: unknown): Promise<void> {
    await this.send(method, path, body);
  }

  private async send(method: string, path: string, body: unknown): Promise<Response> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    let res: Response;
    try {
      res = await this.fetchFn(this.hub + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
        redirect: 'error',
      });
    } catch (err) {
      throw new CliError(`cannot reach hub at ${this.hub}: ${networkReason(err)}`);
    }
    if (!res.ok) throw await errorFrom(res, path);
    return res;
  }
}

/** `localhost:8080` → `http://localhost:8080`; no trailing slash, so paths can be appended. */
export function normalizeHubUrl(hub: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(hub) ? hub : `http://${hub}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(`invalid hub URL '${hub}'`, 2);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(`invalid hub URL '${hub}': use http:// or https://`, 2);
  }
  return (url.origin + url.pathname).replace(/\/+$/, '');
}

async function readJson(res: Response, method: string, path: string): Promise<unknown> {
  const text = await res.text();
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new CliError(`unexpected response from hub for ${method} ${path}: not JSON (HTTP ${res.status})`);
  }
}

async function errorFrom(res: Response, path: string): Promise<CliError> {
  const text = await res.text().catch(() => '');
  let body: { code: string; message: string } | undefined;
  try {
    const parsed = ApiErrorSchema.safeParse(JSON.parse(text));
    if (parsed.success) body = parsed.data;
  } catch {
    // Not JSON: a proxy or a non-pifleet server answered; fall through to the status line.
  }
  const message = oneLine(body?.message ?? `HTTP ${res.status} ${res.statusText}`.trim());
  // 401 means our credential is missing, wrong or expired; logging in again is the fix. The
  // login call itself also gets 401 for a bad password, but it reports that without the hint.
  if (res.status === 401 && path !== '/api/auth/login') return new AuthError(message);
  if (res.status === 401) return new AuthError(message, false);
  return new HubError(res.status, body?.code ?? `http_${res.status}`, message);
}

function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  // undici wraps the socket error; with happy-eyeballs it is an AggregateError with an empty message.
  const detail = cause?.message || cause?.code;
  if (detail) return oneLine(detail);
  return oneLine(err instanceof Error ? err.message : String(err));
}
