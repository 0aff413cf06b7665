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
    return parseWith(schema, await readJson(res, method, path), method, path);
  }

  /**
   * Sends `body` as the raw request body (an image archive), pulled chunk by chunk so a file of
   * any size is never held in memory. A fixed deadline would cut off a large upload on a slow
   * link, so the deadline is on silence instead: no chunk taken for REQUEST_TIMEOUT_MS, or no
   * answer that long after the last one, aborts.
   */
  async upload<S extends z.ZodType>(path: string, schema: S, body: AsyncIterable<Uint8Array>, size: number, contentType = 'application/octet-stream'): Promise<z.infer<S>> {
    const idle = new IdleDeadline(REQUEST_TIMEOUT_MS);
    let readError: unknown;
    async function* watched(): AsyncGenerator<Uint8Array> {
      try {
        for await (const chunk of body) {
          idle.touch();
          yield chunk;
        }
      } catch (err) {
        readError = err;
        throw err;
      }
      idle.touch();
    }
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': contentType, 'content-length': String(size) };
    if (this.token !== undefined) headers['authorization'] = `Bearer ${this.token}`;
    let res: Response;
    try {
      res = await this.fetchFn(this.hub + path, {
        method: 'POST',
        headers,
        body: watched() as unknown as NonNullable<RequestInit['body']>,
        // Node's fetch streams a request body only in half-duplex mode.
        duplex: 'half',
        signal: idle.signal,
        redirect: 'error',
      } as RequestInit);
    } catch (err) {
      idle.stop();
      // A failure to read the file itself surfaces here too; report it as that, not as the network.
      if (readError instanceof CliError) throw readError;
      if (readError !== undefined) throw new CliError(`cannot read the upload: ${oneLine(readError instanceof Error ? readError.message : String(readError))}`);
      throw new CliError(`cannot reach hub at ${this.hub}: ${networkReason(err)}`);
    }
    try {
      if (!res.ok) throw await errorFrom(res, path);
      return parseWith(schema, await readJson(res, 'POST', path), 'POST', path);
    } finally {
      idle.stop();
    }
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

function parseWith<S extends z.ZodType>(schema: S, data: unknown, method: string, path: string): z.infer<S> {
  const parsed = schema.safeParse(data);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    const where = first ? `${first.path.join('.') || '(root)'}: ${first.message}` : 'invalid shape';
    throw new CliError(`unexpected response from hub for ${method} ${path} (${where}); is the CLI the same version as the hub?`);
  }
  return parsed.data;
}

/** An abort signal that fires once `ms` pass without a touch() (exported for its test). */
export class IdleDeadline {
  private readonly controller = new AbortController();
  private timer: NodeJS.Timeout;

  constructor(private readonly ms: number) {
    this.timer = this.arm();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  touch(): void {
    clearTimeout(this.timer);
    this.timer = this.arm();
  }

  stop(): void {
    clearTimeout(this.timer);
  }

  private arm(): NodeJS.Timeout {
    const t = setTimeout(() => this.controller.abort(new DOMException(`no progress for ${this.ms / 1000}s`, 'TimeoutError')), this.ms);
    // The deadline must not keep the process alive on its own.
    t.unref();
    return t;
  }
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
  let body: { code: string; message: string; details?: unknown } | undefined;
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
  return new HubError(res.status, body?.code ?? `http_${res.status}`, message, body?.details);
}

function networkReason(err: unknown): string {
  if (err instanceof Error && err.name === 'TimeoutError') return err.message.startsWith('no progress') ? err.message : `no answer within ${REQUEST_TIMEOUT_MS / 1000}s`;
  const cause = err instanceof Error ? (err.cause as { code?: string; message?: string } | undefined) : undefined;
  // undici wraps the socket error; with happy-eyeballs it is an AggregateError with an empty message.
  const detail = cause?.message || cause?.code;
  if (detail) return oneLine(detail);
  return oneLine(err instanceof Error ? err.message : String(err));
}
