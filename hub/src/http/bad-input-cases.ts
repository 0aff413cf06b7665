import assert from 'node:assert/strict';
import { request } from 'node:http';
import type { Logger } from 'pino';
import type { CreatedToken, Device } from '../contract.js';
import { LOGGER } from '../common/tokens.js';
import { enrollBody, type TestHub } from './test-hub.js';

/**
 * Support for the bad-input tests (not a test itself): the same cases run on PGlite and on a real
 * PostgreSQL, since the two databases refuse NUL and broken text in their own ways.
 */

export interface RawAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

/**
 * One request with the path and body sent byte for byte: fetch would normalise the URL, and a
 * body of invalid UTF-8 cannot be written as a JS string.
 */
export function rawRequest(
  baseUrl: string,
  method: string,
  path: string,
  opts: { headers?: Record<string, string>; body?: string | Buffer; timeoutMs?: number } = {},
): Promise<RawAnswer> {
  const u = new URL(baseUrl);
  const body = typeof opts.body === 'string' ? Buffer.from(opts.body, 'utf8') : opts.body;
  const headers: Record<string, string> = { ...opts.headers };
  if (body) {
    headers['content-type'] ??= 'application/json';
    headers['content-length'] = String(body.length);
  }
  return new Promise((resolve, reject) => {
    const req = request({ host: u.hostname, port: u.port, method, path, headers, timeout: opts.timeoutMs ?? 15_000 }, (res) => {
      const chunks: Buffer[] = [];
      // A stream (SSE) that answered 200 is not read to its end; its status is the answer.
      if (String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text: '' });
        res.destroy();
        return;
      }
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path.slice(0, 80)}: no answer in time`)));
    req.on('error', reject);
    req.end(body);
  });
}

export interface LogRecord {
  level: 'error' | 'fatal' | 'warn' | 'info';
  args: unknown[];
}

/**
 * Records what the hub logs, whatever its log level (tests run it silent): the hub's one pino
 * instance is shared by every service, so wrapping its methods sees every line.
 */
export function spyOnLog(t: TestHub): { records: LogRecord[]; errors(): LogRecord[] } {
  const log = t.hub.app.get<Logger>(LOGGER);
  const records: LogRecord[] = [];
  for (const level of ['error', 'fatal', 'warn', 'info'] as const) {
    const original = log[level].bind(log);
    log[level] = ((...args: unknown[]) => {
      records.push({ level, args });
      return (original as (...a: unknown[]) => void)(...args);
    }) as typeof log.info;
  }
  return { records, errors: () => records.filter((r) => r.level === 'error' || r.level === 'fatal') };
}

function errorBody(a: RawAnswer): { code?: string; message?: string } {
  try {
    return JSON.parse(a.text) as { code?: string; message?: string };
  } catch {
    return {};
  }
}

function assertBadRequest(a: RawAnswer, what: string): void {
  assert.equal(a.status, 400, `${what}: expected 400, got ${a.status} ${a.text.slice(0, 200)}`);
  const b = errorBody(a);
  assert.equal(b.code, 'bad_request', `${what}: code`);
  assert.ok(typeof b.message === 'string' && b.message.length > 0, `${what}: a message says why`);
}

/**
 * NUL (U+0000) in a query, a path id or a JSON body, text that is not valid UTF-8 (broken percent
 * escapes, raw bytes, lone surrogates), and malformed cookies: each is refused or ignored, never
 * a 500, and nothing is logged at error level.
 */
export async function checkBadInputRefused(t: TestHub): Promise<void> {
  const spy = spyOnLog(t);
  const admin = await t.login();
  const auth = { authorization: `Bearer ${admin}` };
  const send = (method: string, path: string, opts: { headers?: Record<string, string>; body?: string | Buffer } = {}) =>
    rawRequest(t.url, method, path, { ...opts, headers: { ...auth, ...opts.headers } });

  // A device and a single-use provisioning token, so the body cases reach the database.
  const tok = (await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body: { fleet: 'default', maxUses: 1 } })).body;
  assert.ok(tok.token, 'provisioning token created');

  // NUL in the query, in a path id, in bodies (values and keys).
  for (const path of [
    '/api/devices?q=%00',
    '/api/devices?q=pi%00',
    '/api/devices?tag=ab%00cd',
    '/api/devices?fleet=%00',
    '/api/devices?%00=1',
    '/api/devices/ab%00cd',
    '/api/devices/ab%00cd/telemetry',
    '/api/devices/%00',
  ]) {
    assertBadRequest(await send('GET', path), `GET ${path}`);
  }
  assertBadRequest(await send('DELETE', '/api/tokens/ab%00cd'), 'DELETE /api/tokens/ab%00cd');
  assertBadRequest(await send('POST', '/api/devices/ab%00cd/revoke'), 'POST revoke with NUL id');
  assertBadRequest(await send('PATCH', '/api/devices/ab%00cd', { body: JSON.stringify({ name: 'x' }) }), 'PATCH with NUL id');
  const nulBodies: [string, string, unknown][] = [
    ['POST', '/api/enroll', enrollBody(tok.token, { info: { hostname: 'rasp\u0000berry', arch: 'arm64' } })],
    ['POST', '/api/enroll', enrollBody(tok.token, { publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5\u0000AAAAIPifleet test' })],
    ['POST', '/api/enroll', enrollBody(tok.token, { info: { hostname: 'pi', ['ke\u0000y']: 'v' } })],
    ['POST', '/api/enroll', enrollBody(tok.token, { name: 'pi\u0000' })],
    ['POST', '/api/auth/login', { username: 'ad\u0000min', password: 'x' }],
    ['POST', '/api/fleets', { name: 'lab\u0000' }],
    ['POST', '/api/users', { username: 'u\u0000', password: 'password-123', role: 'viewer' }],
  ];
  for (const [method, path, body] of nulBodies) {
    assertBadRequest(await send(method, path, { body: JSON.stringify(body) }), `${method} ${path} with NUL in ${JSON.stringify(body).slice(0, 80)}`);
  }

  // Not UTF-8: broken or incomplete percent escapes, encoded surrogates, raw bytes, lone surrogates.
  for (const path of [
    '/api/devices?q=%E0%A4%A',
    '/api/devices?q=%FF',
    '/api/devices?q=%C3%28',
    '/api/devices?q=%ED%A0%80',
    '/api/devices?q=100%',
    '/api/devices?%FF=1',
    '/api/devices/%E0%A4%A',
    '/api/devices/%FF',
    '/api/devices/%ED%A0%80/telemetry',
  ]) {
    assertBadRequest(await send('GET', path), `GET ${path}`);
  }
  const rawBodies: [string, Buffer][] = [
    ['/api/auth/login', Buffer.concat([Buffer.from('{"username":"'), Buffer.from([0xc3, 0x28]), Buffer.from('","password":"x"}')])],
    ['/api/enroll', Buffer.concat([Buffer.from(`{"token":"${tok.token}","publicKey":"ssh-ed25519 AAAA`), Buffer.from([0xff, 0xfe]), Buffer.from('AAAA x"}')])],
    ['/api/fleets', Buffer.concat([Buffer.from('{"name":"lab'), Buffer.from([0xe0, 0xa4]), Buffer.from('"}')])],
  ];
  for (const [path, body] of rawBodies) assertBadRequest(await send('POST', path, { body }), `POST ${path} with invalid UTF-8 bytes`);
  // JSON may spell a lone surrogate as an escape; it is not text any database can store.
  assertBadRequest(await send('POST', '/api/auth/login', { body: '{"username":"\\ud800","password":"x"}' }), 'lone surrogate in a body');
  assertBadRequest(await send('POST', '/api/fleets', { body: '{"name":"lab\\udfff"}' }), 'lone low surrogate in a body');

  // Malformed cookies are no session: public routes work, protected ones answer 401, and a
  // bearer token or a well-formed session cookie next to them still counts.
  for (const cookie of ['pifleet_session=%E0%A4%A', 'pifleet_session=%', 'pifleet_session=%FF%FE']) {
    const noAuth = (method: string, path: string) => rawRequest(t.url, method, path, { headers: { cookie } });
    const health = await noAuth('GET', '/api/health');
    assert.equal(health.status, 200, `public route with cookie ${cookie}: ${health.text}`);
    for (const path of ['/api/devices', '/api/auth/me', '/metrics', '/api/events']) {
      const r = await noAuth('GET', path);
      assert.equal(r.status, 401, `GET ${path} with cookie ${cookie}: ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(errorBody(r).code, 'unauthenticated');
    }
    const login = await noAuth('POST', '/api/auth/login');
    assert.equal(login.status, 400, 'login without a body is a 400, not a 500');
    const withBearer = await rawRequest(t.url, 'GET', '/api/devices', { headers: { cookie, ...auth } });
    assert.equal(withBearer.status, 200, `bearer next to a malformed cookie: ${withBearer.text}`);
  }
  const both = await rawRequest(t.url, 'GET', '/api/auth/me', { headers: { cookie: `other=%E0%A4%A; pifleet_session=${admin}` } });
  assert.equal(both.status, 200, `a good session cookie after a malformed one: ${both.text}`);

  // Nothing above reached the database: the token is unused and no device, fleet or user exists.
  const devices = (await t.api<Device[]>('GET', '/api/devices', { token: admin })).body;
  assert.deepEqual(devices, []);
  const fleets = (await t.api<{ name: string }[]>('GET', '/api/fleets', { token: admin })).body;
  assert.deepEqual(
    fleets.map((f) => f.name),
    ['default'],
  );
  const users = (await t.api<{ username: string }[]>('GET', '/api/users', { token: admin })).body;
  assert.deepEqual(
    users.map((u) => u.username),
    ['admin'],
  );
  const ok = await t.api('POST', '/api/enroll', { body: enrollBody(tok.token) });
  assert.equal(ok.status, 200, `the token refused bad bodies without using itself up: ${JSON.stringify(ok.body)}`);

  assert.deepEqual(
    spy.errors().map((r) => r.args),
    [],
    'nothing is logged at error level',
  );
  // Refused requests are still in the request log (status 400, path without the query).
  const httpLines = spy.records
    .filter((r) => r.level === 'info' && r.args[1] === 'http')
    .map((r) => r.args[0] as { status: number; path: string });
  const refused = httpLines.filter((l) => l.status === 400);
  assert.ok(refused.length >= 20, `refused requests are logged (${refused.length})`);
  for (const l of httpLines) assert.ok(!l.path.includes('?'), `no query string in the log: ${l.path}`);
  const logged = JSON.stringify(spy.records.map((r) => r.args));
  assert.ok(!logged.includes(admin), 'no token in the log');
}
