/**
 * The hub's data dir holds every operator's bcrypt hash (in PGlite's WAL and tables), the
 * generated admin password and the broker port. Whatever umask the hub was started with, nothing
 * in it may be readable or writable by other local users.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sql } from 'drizzle-orm';
import { openDatabase } from './client.js';
import { tightenDataDir } from './file-modes.js';

const HUB_MAIN = join(dirname(fileURLToPath(import.meta.url)), '../main.js');

/** Every entry under `root` (root included) whose mode lets group or others in, as "mode path". */
function loose(root: string): string[] {
  const out: string[] = [];
  const visit = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    if ((st.mode & 0o077) !== 0) out.push(`${(st.mode & 0o777).toString(8)} ${p}`);
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(root);
  return out;
}

/** Makes everything under `root` world-readable/writable, as data dirs of earlier versions were. */
function loosen(root: string): number {
  let n = 0;
  const visit = (p: string): void => {
    const st = lstatSync(p);
    if (st.isSymbolicLink()) return;
    chmodSync(p, st.isDirectory() ? 0o777 : 0o666);
    n++;
    if (st.isDirectory()) for (const e of readdirSync(p)) visit(join(p, e));
  };
  visit(root);
  return n;
}

const modeOf = (p: string): number => statSync(p).mode & 0o777;

function withTemp<T>(fn: (base: string) => Promise<T>): Promise<T> {
  const base = mkdtempSync(join(tmpdir(), 'pifleet-modes-'));
  return fn(base).finally(() => rmSync(base, { recursive: true, force: true }));
}

/** Runs `fn` with the process umask at `mask`, restoring it afterwards. */
async function withUmask<T>(mask: number, fn: () => Promise<T>): Promise<T> {
  const old = process.umask(mask);
  try {
    return await fn();
  } finally {
    process.umask(old);
  }
}

async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, ms = 60_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}${last instanceof Error ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** `node hub/dist/main.js` as an operator would run it, but under `sh -c 'umask 000'`. */
async function startHubProcess(dataDir: string): Promise<{ url: string; output: () => string; stop: () => Promise<number | null> }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: process.env['HOME'] ?? '/tmp' };
  Object.assign(env, {
    PIFLEET_DATA_DIR: dataDir,
    PIFLEET_HTTP_PORT: String(port),
    PIFLEET_HTTP_HOST: '127.0.0.1',
    // The port is left to the hub so that it writes <dataDir>/mqtt-port, as on a real first start.
    PIFLEET_MQTT_HOST: '127.0.0.1',
    PIFLEET_LOG_LEVEL: 'info',
  });
  const child = spawn('/bin/sh', ['-c', 'umask 000 && exec "$0" "$@"', process.execPath, HUB_MAIN], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  const keep = (d: Buffer): void => {
    out = (out + d.toString()).slice(-100_000);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  const url = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    try {
      return await exited;
    } finally {
      clearTimeout(timer);
    }
  };
  try {
    const healthy = waitFor('hub health', async () => {
      const r = await fetch(`${url}/api/health`, { signal: AbortSignal.timeout(2000) });
      return r.status === 200 ? true : undefined;
    });
    const died = exited.then((code) => Promise.reject(new Error(`hub exited ${code} before it was healthy: ${out.slice(-2000)}`)));
    await Promise.race([healthy, died]);
  } catch (e) {
    await stop();
    throw e;
  }
  return { url, output: () => out, stop };
}

async function api(url: string, method: string, path: string, body: unknown, token?: string): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  if (token) headers['authorization'] = `Bearer ${token}`;
  const r = await fetch(url + path, { method, headers, body: JSON.stringify(body), signal: AbortSignal.timeout(15_000) });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

void test('a hub started with umask 000 keeps its data dir private, and tightens one left open by an earlier version', () =>
  withTemp(async (base) => {
    const dataDir = join(base, 'data');
    const first = await startHubProcess(dataDir);
    try {
      const password = readFileSync(join(dataDir, 'initial-admin-password'), 'utf8').trim();
      const login = await api(first.url, 'POST', '/api/auth/login', { username: 'admin', password, kind: 'cli' });
      assert.equal(login.status, 200);
      // A second operator's bcrypt hash goes through the WAL into a table while the hub runs.
      const created = await api(first.url, 'POST', '/api/users', { username: 'operator1', password: 'operator-password-1', role: 'operator' }, login.body['token'] as string);
      assert.equal(created.status, 201);
    } finally {
      assert.equal(await first.stop(), 0);
    }
    assert.equal(modeOf(dataDir), 0o700);
    assert.equal(modeOf(join(dataDir, 'pg')), 0o700);
    assert.equal(modeOf(join(dataDir, 'initial-admin-password')), 0o600);
    assert.equal(modeOf(join(dataDir, 'mqtt-port')), 0o600);
    assert.deepEqual(loose(dataDir), [], 'nothing in the data dir is open to group or others');

    // What a data dir written by an earlier version looks like (initdb's files were 0666).
    assert.ok(loosen(dataDir) > 900);
    const second = await startHubProcess(dataDir);
    const code = await second.stop();
    assert.equal(code, 0, second.output().slice(-2000));
    assert.deepEqual(loose(dataDir), []);
    assert.match(second.output(), /data dir: restricted \d+ files? and directories? to the hub's user/);
  }));

void test('files PGlite creates after the start (tables, WAL segments, checkpoints) are private under any umask', () =>
  withTemp((base) =>
    withUmask(0, async () => {
      const dataDir = join(base, 'data');
      const handle = await openDatabase({ dataDir });
      try {
        await handle.db.execute(sql`create table mode_probe (x text)`);
        await handle.db.execute(sql`insert into mode_probe select repeat('x', 1000) from generate_series(1, 5000)`);
        await handle.db.execute(sql`select pg_switch_wal()`);
        await handle.db.execute(sql`checkpoint`);
      } finally {
        await handle.close();
      }
      const wal = readdirSync(join(dataDir, 'pg', 'pg_wal')).filter((f) => /^[0-9A-F]{24}$/.test(f));
      assert.ok(wal.length >= 2, `a new WAL segment was created (${wal.join(', ')})`);
      assert.deepEqual(loose(dataDir), []);
    }),
  ));

void test('with an external database the data dir (broker port, admin password) is still created private', () =>
  withTemp((base) =>
    withUmask(0, async () => {
      const dataDir = join(base, 'data');
      // Port 1 refuses at once: only the data dir preparation before the connect matters here.
      const url = 'postgres://pifleet@127.0.0.1:1/pifleet';
      const quiet = { info: () => undefined, warn: () => undefined };
      await assert.rejects(openDatabase({ databaseUrl: url, dataDir, log: quiet }));
      assert.equal(modeOf(dataDir), 0o700);

      // A shared directory (as tests pass the system temp dir) is not the hub's to chmod.
      const shared = join(base, 'shared');
      mkdirSync(shared);
      chmodSync(shared, 0o1777);
      writeFileSync(join(shared, 'someone-elses'), 'x');
      chmodSync(join(shared, 'someone-elses'), 0o644);
      await assert.rejects(openDatabase({ databaseUrl: url, dataDir: shared, log: quiet }));
      assert.equal(statSync(shared).mode & 0o7777, 0o1777);
      assert.equal(modeOf(join(shared, 'someone-elses')), 0o644);
    }),
  ));

void test('tightening an existing data dir: only the hub\'s entries, bounded, never through symlinks', () =>
  withTemp(async (base) => {
    const dataDir = join(base, 'data');
    const outside = join(base, 'outside');
    mkdirSync(join(dataDir, 'pg', 'base', '5'), { recursive: true });
    mkdirSync(join(dataDir, 'other'), { recursive: true });
    writeFileSync(outside, 'not the hub\'s');
    for (const f of ['pg/PG_VERSION', 'pg/base/5/1259', 'mqtt-port', 'notes.txt', 'other/keep']) writeFileSync(join(dataDir, f), 'x');
    writeFileSync(join(dataDir, 'initial-admin-password'), 'x');
    symlinkSync(outside, join(dataDir, 'pg', 'link'));
    symlinkSync(outside, join(dataDir, 'mqtt-port-link'));
    loosen(dataDir);
    chmodSync(outside, 0o644);
    chmodSync(join(dataDir, 'initial-admin-password'), 0o600);

    const logs: string[] = [];
    const log = { info: (_o: object, m: string) => logs.push(m), warn: (_o: object, m: string) => logs.push(`warn ${m}`) };
    const r = tightenDataDir(dataDir, log, { pg: true });
    assert.deepEqual(r, { changed: 7, scanned: 9, complete: true });
    assert.equal(modeOf(outside), 0o644, 'a symlink target outside the data dir is not touched');
    assert.deepEqual(
      loose(dataDir),
      [`666 ${join(dataDir, 'notes.txt')}`, `777 ${join(dataDir, 'other')}`, `666 ${join(dataDir, 'other', 'keep')}`],
      'only the data dir itself, the hub\'s files and pg/ are changed',
    );
    assert.equal(logs.length, 1);
    assert.match(logs[0]!, /^data dir: restricted 7 files and directories to the hub's user/);

    logs.length = 0;
    assert.deepEqual(tightenDataDir(dataDir, log, { pg: true }), { changed: 0, scanned: 9, complete: true });
    assert.equal(logs.length, 0, 'a private data dir is not logged about');

    loosen(join(dataDir, 'pg'));
    const bounded = tightenDataDir(dataDir, log, { pg: true, maxEntries: 4 });
    assert.equal(bounded.complete, false);
    assert.equal(bounded.scanned, 4);
    assert.ok(logs.some((l) => l.startsWith('warn ')), 'stopping early is a warning');

    // A directory with none of the hub's entries is someone else's: left alone, with a warning.
    const foreign = join(base, 'foreign');
    mkdirSync(foreign);
    writeFileSync(join(foreign, 'notes.txt'), 'x');
    loosen(foreign);
    logs.length = 0;
    assert.deepEqual(tightenDataDir(foreign, log, { pg: false }), { changed: 0, scanned: 1, complete: true });
    assert.equal(loose(foreign).length, 2);
    assert.match(logs.join('\n'), /^warn data dir: the directory is shared with other users/);
  }));
