/**
 * Thin fetch wrapper for the hub API. The session lives in the HttpOnly `pifleet_session` cookie
 * set by login, so requests go with `credentials: 'same-origin'` and no token is ever kept in JS.
 * Every failure becomes an ApiError carrying the HTTP status, the hub's stable error `code` and,
 * when the hub sends them, its structured `details`.
 */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The hub's structured detail when it sends one (e.g. ComposeError[] for `invalid_compose`). */
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiError';
  }

  get unauthorized(): boolean {
    return this.status === 401;
  }

  get forbidden(): boolean {
    return this.status === 403;
  }
}

type Listener = () => void;
const unauthorizedListeners = new Set<Listener>();

/** The auth provider subscribes here so any 401 (expired session) sends the user to the login page. */
export function onUnauthorized(listener: Listener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

export function notifyUnauthorized(): void {
  for (const l of unauthorizedListeners) l();
}

export async function request<T>(method: string, path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      credentials: 'same-origin',
      headers: body === undefined ? { Accept: 'application/json' } : { Accept: 'application/json', 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal,
    });
  } catch (err) {
    if (signal?.aborted) throw err;
    throw new ApiError(0, 'unreachable', 'hub unreachable');
  }
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  let json: unknown = undefined;
  try {
    json = text ? JSON.parse(text) : undefined;
  } catch {
    // A proxy or a crashed hub may answer with HTML; report the status rather than a parse error.
  }
  if (!res.ok) {
    const e = (json ?? {}) as { code?: unknown; message?: unknown; details?: unknown };
    const code = typeof e.code === 'string' ? e.code : `http_${res.status}`;
    const message = typeof e.message === 'string' ? e.message : res.statusText || `HTTP ${res.status}`;
    // Login itself answers 401 for bad credentials; that is a form error, not an expired session.
    if (res.status === 401 && path !== '/api/auth/login') notifyUnauthorized();
    throw new ApiError(res.status, code, message, e.details);
  }
  return json as T;
}

/** Human text for an error, with the two cases every page handles the same way. */
export function describeError(err: unknown): string {
  if (err instanceof ApiError) {
    if (err.forbidden) return 'Not allowed for your role.';
    if (err.status === 0) return 'Hub unreachable — check that it is running.';
    return err.message;
  }
  return err instanceof Error ? err.message : String(err);
}
