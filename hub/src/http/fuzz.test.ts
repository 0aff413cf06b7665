import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { sql, type SQL } from 'drizzle-orm';
import type { CreatedToken } from '../contract.js';
import { DB } from '../common/tokens.js';
import type { Db } from '../db/client.js';
import { rawRequest, spyOnLog } from './bad-input-cases.js';
import { enrollBody, startTestHub, TEST_ADMIN_PASSWORD, type TestHub } from './test-hub.js';

/**
 * Every route the hub serves, fed a fixed corpus of nasty values in its path parameters, query
 * parameters and JSON body, as admin, as viewer and without a token: no answer is a 5xx, nothing
 * is logged at error level, and a request that was refused (4xx) left the database as it was.
 * Routes come from the running app's router, so a new route is covered without touching this.
 */

let t: TestHub;
before(async () => {
  t = await startTestHub();
});
after(async () => {
  await t?.close();
});

/** Text that has broken services before: NUL, surrogates, injections, huge, empty, odd numbers. */
const TEXT: string[] = [
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\ufffe\uffff',
  '\u202e\u200b',
  '🍓',
  '',
  ' ',
  '\r\n\t',
  '../',
  '../../../../etc/passwd',
  "'; drop table devices; --",
  '" OR 1=1 --',
  '%',
  '%00',
  '<script>alert(1)</script>',
  '__proto__',
  'constructor',
  '1e308',
  '-1',
  'NaN',
  'null',
  'a'.repeat(5_000),
  'a'.repeat(100_000),
  'pft_' + 'y'.repeat(43),
];

/** Percent-escapes sent byte for byte in the URL: NUL, broken or non-UTF-8 sequences. */
const RAW_URL: string[] = ['%00', 'a%00b', '%E0%A4%A', '%FF', '%C3%28', '%ED%A0%80', '%', '%%', '%zz', '%0', '%2F..%2F..', '..%2F'];

/** JSON values (as JSON text) for body fields, besides every TEXT entry as a string. */
const JSON_VALUES: string[] = [
  '1e308',
  '1e400',
  '-1',
  '0',
  '-0',
  '1.5',
  '9007199254740993',
  '123456789012345678901234567890',
  'true',
  'null',
  '[]',
  '["a\\u0000"]',
  '["\\ud800"]',
  '{}',
  '{"a":"\\u0000"}',
  '{"__proto__":{"role":"admin"}}',
  '{"constructor":{"prototype":{"x":1}}}',
  '[' + '"x",'.repeat(5_000) + '"x"]',
  '['.repeat(2_000) + ']'.repeat(2_000),
  '{"a":'.repeat(500) + '1' + '}'.repeat(500),
];

/** Whole bodies, as bytes: not JSON, not UTF-8, not an object, absurdly nested. */
const RAW_BODIES: { body: Buffer; type?: string; poison?: boolean }[] = [
  ...['', 'null', '[]', '"text"', '1e308', 'NaN', '{', '{"a":1,}', '\u0000', '{"\\u0000":1}', '['.repeat(20_000), '{"a":'.repeat(10_000)].map((s) => ({
    body: Buffer.from(s),
  })),
  { body: Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d]), poison: true },
  { body: Buffer.from([0xff, 0xfe, 0x7b, 0x00, 0x7d, 0x00]), poison: true },
  { body: Buffer.from('{"a":"\\u0000"}'), poison: true },
  { body: Buffer.from('{"a":"\\udc00"}'), poison: true },
  { body: Buffer.from('{"a":1}'), type: 'application/json; charset=utf-16' },
  { body: Buffer.from('{"a":1}'), type: 'application/json; charset=latin1' },
  { body: Buffer.from('{"a":1}'), type: 'text/plain' },
  { body: Buffer.alloc(70_000, 0x20) },
];

interface Route {
  method: string;
  /** Express pattern, e.g. /api/devices/:idOrName */
  path: string;
  params: string[];
  query: string[];
  body?: JsonSchema;
}
interface JsonSchema {
  type?: string;
  properties?: Record<string, JsonSchema>;
  enum?: unknown[];
  minimum?: number;
  minLength?: number;
}
interface OpenApiOp {
  parameters?: { name: string; in: string }[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
}

/** Routes from Express's router (authoritative), with query names and body schemas from OpenAPI. */
async function listRoutes(): Promise<Route[]> {
  const express = t.hub.app.getHttpAdapter().getInstance() as { router: { stack: { route?: { path: unknown; methods: Record<string, boolean> } }[] } };
  const doc = (await t.api<{ paths: Record<string, Record<string, OpenApiOp>> }>('GET', '/api/docs-json')).body;
  const routes: Route[] = [];
  for (const layer of express.router.stack) {
    if (!layer.route || typeof layer.route.path !== 'string') continue;
    const path = layer.route.path;
    for (const [m, on] of Object.entries(layer.route.methods)) {
      if (!on || m === '_all') continue;
      const op = doc.paths[path.replace(/:(\w+)/g, '{$1}')]?.[m];
      routes.push({
        method: m.toUpperCase(),
        path,
        params: [...path.matchAll(/:(\w+)/g)].map((x) => x[1]!),
        query: (op?.parameters ?? []).filter((p) => p.in === 'query').map((p) => p.name),
        body: op?.requestBody?.content?.['application/json']?.schema,
      });
    }
  }
  // Every documented operation is a route we found; else the router walk above went stale.
  for (const [p, ops] of Object.entries(doc.paths)) {
    for (const m of Object.keys(ops)) {
      const express = p.replace(/\{(\w+)\}/g, ':$1');
      assert.ok(
        routes.some((r) => r.path === express && r.method === m.toUpperCase()),
        `documented ${m.toUpperCase()} ${p} is among the router's routes`,
      );
    }
  }
  return routes;
}

function encodeText(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    // A lone surrogate has no UTF-8 form; send the bytes a careless encoder would (CESU-8).
    return '%ED%A0%80';
  }
}

/** URL components for a parameter: every TEXT value encoded, and every RAW_URL escape verbatim. */
const URL_VALUES: string[] = [...TEXT.map(encodeText), ...RAW_URL];

/** JSON for a body field: every TEXT as a string plus every JSON_VALUES entry. */
const FIELD_VALUES: string[] = [...TEXT.map((s) => JSON.stringify(s)), ...JSON_VALUES];
/** For fields the route does not know (ignored or refused): the values that could slip through. */
const EXTRA_FIELD_VALUES: string[] = ['"\\u0000"', '"\\ud800"', '{"a":"\\u0000"}', '{"\\u0000":1}', '{"__proto__":{"role":"admin"}}', '{"a":'.repeat(500) + '1' + '}'.repeat(500)];

/**
 * Values no route may accept wherever they appear (NUL, not UTF-8, absurdly nested), in every
 * spelling the cases use: a request carrying one must be refused, not just not crash.
 */
const POISON_TEXT = ['\u0000', 'a\u0000b', '\ud800', 'x\udfffy'];
const POISON = new Set<string>([
  ...POISON_TEXT.map(encodeText),
  ...POISON_TEXT.map((v) => JSON.stringify(v)),
  ...RAW_URL.filter((v) => !v.includes('..')),
  '["a\\u0000"]',
  '["\\ud800"]',
  '{"a":"\\u0000"}',
  '{"\\u0000":1}',
  '['.repeat(2_000) + ']'.repeat(2_000),
  '{"a":'.repeat(500) + '1' + '}'.repeat(500),
]);

interface Case {
  /** The route's pattern, e.g. GET /api/devices/:idOrName */
  route: string;
  method: string;
  path: string;
  body?: Buffer;
  type?: string;
  label: string;
  /** Carries a POISON value: must answer 4xx. */
  poison?: boolean;
}

const HOLE = '\u0001HOLE\u0001';

function casesFor(r: Route, valid: { param(name: string): string; field(name: string, s: JsonSchema): unknown }): Case[] {
  const fill = (override: Record<string, string> = {}) =>
    r.path.replace(/:(\w+)/g, (_, n: string) => override[n] ?? encodeURIComponent(valid.param(n)));
  const out: Case[] = [];
  const route = `${r.method} ${r.path}`;
  const isWrite = r.method !== 'GET' && r.method !== 'HEAD' && r.method !== 'DELETE';
  const baseBody = r.body?.properties
    ? Object.fromEntries(Object.entries(r.body.properties).map(([k, s]) => [k, valid.field(k, s)]))
    : undefined;
  const baseBuf = baseBody ? Buffer.from(JSON.stringify(baseBody)) : undefined;
  out.push({ route, method: r.method, path: fill(), body: baseBuf, label: 'baseline' });
  // A nasty id with a valid body, so the body reaches the lookup by that id.
  for (const p of r.params) {
    for (const v of URL_VALUES) out.push({ route, method: r.method, path: fill({ [p]: v }), body: baseBuf, label: `path :${p}=${v.slice(0, 20)}`, poison: POISON.has(v) });
  }
  for (const q of r.query) {
    for (const v of URL_VALUES) out.push({ route, method: r.method, path: `${fill()}?${q}=${v}`, label: `query ${q}=${v.slice(0, 20)}`, poison: POISON.has(v) });
    out.push({ route, method: r.method, path: `${fill()}?${q}=a&${q}=b`, label: `query ${q} twice` });
    out.push({ route, method: r.method, path: `${fill()}?${q}[x]=a&${q}[]=b`, label: `query ${q}[]` });
  }
  // Undocumented parameters are ignored by the routes, but still pass the edge.
  for (const v of RAW_URL) out.push({ route, method: r.method, path: `${fill()}?unknown=${v}`, label: `query unknown=${v}`, poison: POISON.has(v) });
  for (const v of ['%00', '%FF', '%E0%A4%A']) out.push({ route, method: r.method, path: `${fill()}?${v}=1`, label: `query key ${v}`, poison: true });
  if (baseBody) {
    const fields: [string, string[]][] = [
      ...Object.keys(baseBody).map((k): [string, string[]] => [k, FIELD_VALUES]),
      ['unknownField', EXTRA_FIELD_VALUES],
      ['__proto__', EXTRA_FIELD_VALUES],
    ];
    for (const [k, values] of fields) {
      const template = JSON.stringify({ ...baseBody, [k]: HOLE });
      for (const v of values) {
        out.push({ route, method: r.method, path: fill(), body: Buffer.from(template.replace(JSON.stringify(HOLE), () => v)), label: `body ${k}=${v.slice(0, 20)}`, poison: POISON.has(v) });
      }
    }
  }
  if (isWrite) {
    for (const [i, b] of RAW_BODIES.entries()) out.push({ route, method: r.method, path: fill(), body: b.body, type: b.type, label: `raw body #${i}`, poison: b.poison });
    for (const v of JSON_VALUES) out.push({ route, method: r.method, path: fill(), body: Buffer.from(v), label: `body ${v.slice(0, 20)}`, poison: POISON.has(v) });
  }
  return out;
}

/**
 * Row count and a hash of every table in the public schema, less what the hub writes on its own:
 * a token's lastUsedAt (touched by any authenticated call, also a refused one), `settings`
 * (the telemetry rollup's watermark, moved by a timer) and `audit_log`, which records refusals
 * on purpose (a failed login is exactly what an audit trail must keep).
 */
const BACKGROUND_TABLES = new Set(['settings', 'audit_log']);

async function fingerprinter(db: Db): Promise<() => Promise<string>> {
  const rows = async <T>(q: SQL): Promise<T[]> => ((await db.execute(q)) as unknown as { rows: T[] }).rows;
  const tables = (
    await rows<{ table_name: string }>(
      sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE' order by table_name`,
    )
  )
    .map((r) => r.table_name)
    .filter((n) => !BACKGROUND_TABLES.has(n));
  assert.ok(tables.includes('devices') && tables.includes('users'), `tables found: ${tables.join(', ')}`);
  const query = sql.join(
    tables.map(
      (n) =>
        sql`select ${n}::text as t, count(*)::text as n, md5(coalesce(string_agg((to_jsonb(x) - 'last_used_at')::text, ',' order by (to_jsonb(x) - 'last_used_at')::text), '')) as h from ${sql.identifier(n)} x`,
    ),
    sql` union all `,
  );
  return async () =>
    (await rows<{ t: string; n: string; h: string }>(query))
      .map((r) => `${r.t}:${r.n}:${r.h}`)
      .sort()
      .join(' ');
}

/** The tables whose part of two fingerprints differs. */
function changedTables(a: string, b: string): string {
  const before = new Set(a.split(' '));
  return b
    .split(' ')
    .filter((p) => !before.has(p))
    .map((p) => p.split(':')[0])
    .join(', ');
}

test('every route, fed nasty path, query and body values with any credential, never answers 5xx or changes data when refusing', async () => {
  const started = Date.now();
  const spy = spyOnLog(t);
  const db = t.hub.app.get<Db>(DB);
  let admin = await t.login();
  let viewer = await t.userToken('viewer', admin);
  const provisioning = (await t.api<CreatedToken>('POST', '/api/tokens', { token: admin, body: { fleet: 'default', maxUses: 100_000 } })).body;
  const enrolled = await t.api<{ deviceId: string }>('POST', '/api/enroll', { body: enrollBody(provisioning.token, { name: 'fuzz-pi' }) });
  assert.equal(enrolled.status, 200);
  const deviceId = enrolled.body.deviceId;

  // Values that pass validation, so a nasty value in one place meets real data everywhere else.
  const valid = {
    param: (name: string) => ({ idOrName: deviceId, idOrToken: provisioning.id })[name] ?? 'x',
    field(name: string, s: JsonSchema): unknown {
      const known: Record<string, unknown> = {
        token: provisioning.token,
        publicKey: 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPifleetTestKeyOnlyForTests000000000 fuzz',
        // The admin's own login, so the login route answers 200 and is seen as public.
        username: 'admin',
        password: TEST_ADMIN_PASSWORD,
        fleet: 'default',
        name: 'fuzz-name',
      };
      if (name in known) return known[name];
      if (s.enum?.length) return s.enum[0];
      if (s.type === 'integer' || s.type === 'number') return s.minimum ?? 1;
      if (s.type === 'boolean') return true;
      if (s.type === 'array') return [];
      if (s.type === 'object') return {};
      return 'a'.repeat(Math.max(s.minLength ?? 0, 6));
    },
  };

  const routes = await listRoutes();
  assert.ok(routes.length >= 20, `routes found: ${routes.map((r) => `${r.method} ${r.path}`).join(', ')}`);
  for (const must of ['GET /api/devices', 'GET /api/devices/:idOrName', 'POST /api/enroll', 'DELETE /api/tokens/:idOrToken', 'GET /api/events']) {
    assert.ok(
      routes.some((r) => `${r.method} ${r.path}` === must),
      `${must} is fuzzed`,
    );
  }
  const cases = routes.flatMap((r) => casesFor(r, valid));

  const fingerprint = await fingerprinter(db);
  const failures: string[] = [];
  let before = await fingerprint();
  let sent = 0;
  const statuses = new Map<number, number>();
  // What each route's baseline showed: a public route never looks at a credential, so it is
  // sent without one only; a route above the viewer's role refuses the viewer (403) before it
  // uses any input, so the viewer gets only the baseline there. Input checks that come before
  // authentication still meet every case through the request without a token.
  const publicRoutes = new Set<string>();
  const aboveViewer = new Set<string>();
  const credentialsFor = (c: Case): readonly ('none' | 'viewer' | 'admin')[] => {
    if (c.label === 'baseline') return ['none', 'viewer', 'admin'];
    if (publicRoutes.has(c.route)) return ['none'];
    return aboveViewer.has(c.route) ? ['none', 'admin'] : ['none', 'viewer', 'admin'];
  };
  for (const c of cases) {
    const key = `${c.method} ${c.path.split('?')[0]}`;
    const whos = credentialsFor(c);
    for (const who of whos) {
      const token = who === 'admin' ? admin : who === 'viewer' ? viewer : undefined;
      const headers: Record<string, string> = {};
      if (token) headers['authorization'] = `Bearer ${token}`;
      if (c.body) headers['content-type'] = c.type ?? 'application/json';
      const a = await rawRequest(t.url, c.method, c.path, { headers, body: c.body });
      sent++;
      statuses.set(a.status, (statuses.get(a.status) ?? 0) + 1);
      if (c.label === 'baseline' && who === 'none' && a.status !== 401) publicRoutes.add(c.route);
      if (c.label === 'baseline' && who === 'viewer' && a.status === 403) aboveViewer.add(c.route);
      const what = `${who} ${key.slice(0, 100)} (${c.label}) -> ${a.status} ${a.text.slice(0, 160)}`;
      if (a.status >= 500 || a.status < 200) failures.push(what);
      else if (c.poison && a.status < 400) failures.push(`${what}: accepted a value that must be refused`);
      const after = await fingerprint();
      if (a.status >= 400 && after !== before) failures.push(`${what}: refused, but the database changed (${changedTables(before, after)})`);
      if (a.status < 400 && after !== before) {
        // An accepted request may have logged out (revoking the token used); log in again if so.
        if ((await t.api('GET', '/api/auth/me', { token: admin })).status !== 200) admin = await t.login();
        if ((await t.api('GET', '/api/auth/me', { token: viewer })).status !== 200) viewer = await t.userToken('viewer', admin);
        before = await fingerprint();
      } else {
        before = after;
      }
    }
    if (failures.length >= 20) break;
  }
  assert.deepEqual(failures, [], `${failures.length} bad answers`);
  assert.deepEqual(
    spy.errors().map((r) => r.args),
    [],
    'nothing logged at error level',
  );
  const seconds = (Date.now() - started) / 1000;
  assert.ok(sent > 1000, `sent ${sent} requests`);
  const byStatus = [...statuses].sort(([a], [b]) => a - b).map(([k, n]) => `${k}: ${n}`);
  process.stdout.write(`# fuzz: ${routes.length} routes, ${sent} requests in ${seconds.toFixed(1)} s (${byStatus.join(', ')})\n`);
  // Some requests got through to real work; a corpus refused wholesale would prove little.
  assert.ok((statuses.get(200) ?? 0) + (statuses.get(201) ?? 0) > 50, 'enough requests were accepted');
  assert.ok((statuses.get(404) ?? 0) > 50, 'enough requests reached a lookup');
});
