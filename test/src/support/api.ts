import { request } from 'node:https';

/** Minimal HTTP client for tests: returns status and parsed body, never throws on 4xx/5xx. */
export interface ApiResult<T = unknown> {
  status: number;
  body: T;
}

export class Api {
  /** `ca`: PEM of a private CA for an https:// hub (fetch cannot take one without undici). */
  constructor(
    readonly base: string,
    readonly token?: string,
    readonly ca?: string,
  ) {}

  withToken(token: string): Api {
    return new Api(this.base, token, this.ca);
  }

  async call<T = unknown>(method: string, path: string, body?: unknown): Promise<ApiResult<T>> {
    const headers: Record<string, string> = {};
    if (this.token) headers['authorization'] = `Bearer ${this.token}`;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const { status, text } = this.ca
      ? await httpsWithCa(this.base + path, this.ca, method, headers, payload)
      : await fetch(this.base + path, { method, headers, body: payload, signal: AbortSignal.timeout(15_000) }).then(
          async (res) => ({ status: res.status, text: await res.text() }),
        );
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      /* not JSON: keep the text */
    }
    return { status, body: parsed as T };
  }

  get<T = unknown>(path: string) {
    return this.call<T>('GET', path);
  }
  post<T = unknown>(path: string, body?: unknown) {
    return this.call<T>('POST', path, body ?? {});
  }
  patch<T = unknown>(path: string, body: unknown) {
    return this.call<T>('PATCH', path, body);
  }
  delete<T = unknown>(path: string) {
    return this.call<T>('DELETE', path);
  }

  /** Logs in and returns a client carrying the token. */
  async login(username: string, password: string): Promise<Api> {
    const r = await this.post<{ token: string }>('/api/auth/login', { username, password, kind: 'cli' });
    if (r.status !== 200) throw new Error(`login as ${username} failed: ${r.status} ${JSON.stringify(r.body)}`);
    return this.withToken(r.body.token);
  }
}

function httpsWithCa(url: string, ca: string, method: string, headers: Record<string, string>, payload?: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, ca, signal: AbortSignal.timeout(15_000) }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(payload);
  });
}
