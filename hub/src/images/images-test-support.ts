import { enrollBody, type Loose, type TestHub } from '../http/test-hub.js';

/** Test support (not a test): raw uploads and device-authenticated downloads against a test hub. */

export interface RawAnswer {
  status: number;
  body: Loose;
  headers: Headers;
}

/** POST /api/images with a raw body (a Buffer, or a stream sent chunked, without Content-Length). */
export async function uploadImage(
  t: TestHub,
  token: string,
  body: Buffer | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<RawAnswer> {
  const res = await fetch(`${t.url}/api/images`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/octet-stream', ...headers },
    body,
    duplex: 'half',
    signal: AbortSignal.timeout(60_000),
  } as RequestInit);
  const text = await res.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers };
}

export interface TestDevice {
  id: string;
  name: string;
  password: string;
}

/** Enrolls a device with a fresh token; returns its id and MQTT password (the download credentials). */
export async function enrollDevice(t: TestHub, adminToken: string, name?: string): Promise<TestDevice> {
  const tok = await t.api('POST', '/api/tokens', { token: adminToken, body: {} });
  if (tok.status !== 201) throw new Error(`token: ${tok.status} ${JSON.stringify(tok.body)}`);
  const r = await t.api('POST', '/api/enroll', { body: enrollBody(tok.body.token, name ? { name } : {}) });
  if (r.status !== 200) throw new Error(`enroll: ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.deviceId, name: r.body.name, password: r.body.mqtt.password };
}

export function basicAuth(user: string, password: string): string {
  return `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;
}

/** GET as a device; the body as bytes. */
export async function deviceGet(t: TestHub, path: string, auth: string | undefined, headers: Record<string, string> = {}): Promise<{ status: number; bytes: Buffer; headers: Headers }> {
  const res = await fetch(t.url + path, { headers: { ...(auth ? { authorization: auth } : {}), ...headers }, signal: AbortSignal.timeout(30_000) });
  return { status: res.status, bytes: Buffer.from(await res.arrayBuffer()), headers: res.headers };
}
