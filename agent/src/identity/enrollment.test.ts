import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../log/logger.js';
import { enrolled, startEnrollServer, type EnrollServer } from '../testing/enroll-server.js';
import { Backoff } from '../util/backoff.js';
import { enrollOverHttp, type EnrollFn } from './enroll-client.js';
import { EXIT_CONFIG, EXIT_ENROLL_REFUSED, FatalError, ensureIdentity, type EnrollmentDeps } from './enrollment.js';
import { IdentityStore } from './identity-store.js';
import { parseOpenSshPublicKey } from './ssh-key.js';

const TOKEN = 'pf_tok_9f8e7d6c5b4a';

async function setup(fn: (srv: EnrollServer, deps: EnrollmentDeps, logs: string[]) => Promise<void>): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'pifleet-enroll-'));
  const srv = await startEnrollServer('mqtt://127.0.0.1:1');
  const logs: string[] = [];
  const store = new IdentityStore(join(dir, 'data'));
  await store.init();
  try {
    await fn(srv, {
      store,
      enroll: enrollOverHttp,
      log: createLogger('debug', (l) => logs.push(l)),
      hubUrl: srv.url,
      token: TOKEN,
      name: 'kitchen-pi',
      info: { hostname: 'kitchen-pi', arch: 'arm64', cpus: 4 },
      backoff: new Backoff({ baseMs: 10, capMs: 40 }),
    }, logs);
  } finally {
    await srv.close();
    await rm(dir, { recursive: true, force: true });
  }
}

void test('enrolls once with an ssh-ed25519 key, then never needs the token', () =>
  setup(async (srv, deps, logs) => {
    const id = await ensureIdentity(deps, new AbortController().signal);
    assert.equal(id?.deviceId, enrolled('x').deviceId);
    assert.equal(srv.requests.length, 1);
    const req = srv.requests[0]!;
    assert.equal(req.token, TOKEN);
    assert.equal(req.name, 'kitchen-pi');
    parseOpenSshPublicKey(req.publicKey);

    const again = await ensureIdentity({ ...deps, token: undefined, hubUrl: undefined }, new AbortController().signal);
    assert.deepEqual(again, id);
    assert.equal(srv.requests.length, 1);
    assert.ok(!logs.join('').includes(TOKEN), 'token never logged');
  }));

void test('a refused token fails fast with exit code 3 and no retry', () =>
  setup(async (srv, deps) => {
    srv.reply = () => ({ status: 401, body: { code: 'token_expired', message: 'provisioning token expired' } });
    await assert.rejects(ensureIdentity(deps, new AbortController().signal), (e: Error) => {
      assert.ok(e instanceof FatalError);
      assert.equal(e.exitCode, EXIT_ENROLL_REFUSED);
      assert.match(e.message, /token_expired/);
      assert.ok(!e.message.includes(TOKEN));
      return true;
    });
    assert.equal(srv.requests.length, 1);
    assert.equal(await deps.store.loadIdentity(), undefined);
  }));

void test('5xx and garbled answers are retried with the same key until the hub enrolls', () =>
  setup(async (srv, deps) => {
    srv.reply = (_req, n) =>
      n === 1
        ? { status: 503, body: { code: 'unavailable', message: 'database starting' } }
        : n === 2
          ? { status: 200, body: { hello: 'not a hub' } }
          : { status: 200, body: enrolled('mqtt://127.0.0.1:1') };
    const id = await ensureIdentity(deps, new AbortController().signal);
    assert.ok(id);
    assert.equal(srv.requests.length, 3);
    assert.equal(new Set(srv.requests.map((r) => r.publicKey)).size, 1);
  }));

void test('network errors retry until stopped; stopping resolves without identity', () =>
  setup(async (srv, deps) => {
    await srv.close();
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const started = Date.now();
    assert.equal(await ensureIdentity(deps, ac.signal), undefined);
    assert.ok(Date.now() - started < 5000);
  }));

void test('without identity, hub and token are required', () =>
  setup(async (_srv, deps) => {
    await assert.rejects(
      ensureIdentity({ ...deps, token: undefined }, new AbortController().signal),
      (e: Error) => e instanceof FatalError && e.exitCode === EXIT_CONFIG,
    );
  }));

void test('an untrusted hub certificate is fatal at once (exit 2) with the --ca hint', () =>
  setup(async (_srv, deps) => {
    let calls = 0;
    const enroll: EnrollFn = () => {
      calls++;
      return Promise.resolve({ kind: 'untrusted', code: 'SELF_SIGNED_CERT_IN_CHAIN', message: 'self-signed certificate in certificate chain' });
    };
    await assert.rejects(ensureIdentity({ ...deps, enroll }, new AbortController().signal), (e: Error) => {
      assert.ok(e instanceof FatalError);
      assert.equal(e.exitCode, EXIT_CONFIG);
      assert.match(e.message, /^hub certificate not trusted \(SELF_SIGNED_CERT_IN_CHAIN: .*--ca <file>/);
      return true;
    });
    assert.equal(calls, 1);
  }));

void test('plain http to a remote hub warns that the token travels in clear; loopback does not', () =>
  setup(async (_srv, deps, logs) => {
    const refuse: EnrollFn = () => Promise.resolve({ kind: 'refused', status: 401, code: 'token_invalid', message: 'no' });
    const attempt = (hubUrl: string) => assert.rejects(ensureIdentity({ ...deps, hubUrl, enroll: refuse }, new AbortController().signal));
    await attempt('http://127.0.0.1:8080');
    await attempt('http://localhost:8080');
    await attempt('https://hub.example');
    assert.ok(!logs.join('').includes('travel in clear'));
    await attempt('http://hub.example:8080');
    assert.ok(logs.some((l) => l.includes('"level":"warn"') && l.includes('travel in clear') && l.includes('hub.example')));
  }));
