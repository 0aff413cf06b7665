import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTITY_FILE, IdentityStore, KEY_FILE, SESSION_FILE, type Identity } from './identity-store.js';

const identity: Identity = {
  deviceId: 'abcdef123456',
  name: 'kitchen-pi',
  fleet: 'default',
  mqtt: { url: 'mqtt://127.0.0.1:1883', username: 'abcdef123456', password: 's3cr3t-pass', clientId: 'abcdef123456' },
  protocolVersion: 1,
  hub: 'http://127.0.0.1:8080',
  enrolledAt: 1,
};

async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const base = await mkdtemp(join(tmpdir(), 'pifleet-store-'));
  try {
    await fn(join(base, 'data'));
  } finally {
    await rm(base, { recursive: true, force: true });
  }
}

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

void test('identity, key and data dir are private and survive a reload', () =>
  withDir(async (dir) => {
    const store = new IdentityStore(dir);
    await store.init();
    assert.equal(await store.loadIdentity(), undefined);
    const { key, created } = await store.loadOrCreateKey();
    assert.ok(created);
    await store.saveIdentity(identity);
    assert.equal(await mode(dir), 0o700);
    assert.equal(await mode(join(dir, IDENTITY_FILE)), 0o600);
    assert.equal(await mode(join(dir, KEY_FILE)), 0o600);
    assert.deepEqual(await readdir(dir).then((f) => f.filter((n) => n.endsWith('.tmp'))), []);

    const again = new IdentityStore(dir);
    assert.deepEqual(await again.loadIdentity(), identity);
    const reloaded = await again.loadOrCreateKey();
    assert.equal(reloaded.created, false);
    assert.equal(reloaded.key.privatePem, key.privatePem);
  }));

void test('session numbers increase across store instances', () =>
  withDir(async (dir) => {
    await new IdentityStore(dir).init();
    assert.equal(await new IdentityStore(dir).nextSession(), 1);
    assert.equal(await new IdentityStore(dir).nextSession(), 2);
    const s = new IdentityStore(dir);
    assert.equal(await s.nextSession(), 3);
    assert.equal(await s.nextSession(), 4);
  }));

void test('a corrupt identity file is an error, not a silent re-enrollment', () =>
  withDir(async (dir) => {
    const store = new IdentityStore(dir);
    await store.init();
    await writeFile(join(dir, IDENTITY_FILE), '{"deviceId": 1');
    await assert.rejects(store.loadIdentity(), /not valid JSON/);
    await writeFile(join(dir, IDENTITY_FILE), '{"deviceId": "x"}');
    await assert.rejects(store.loadIdentity(), /invalid/);
  }));

void test('under umask 000 every file the store writes is 0600 and the dir 0700, parents included', () =>
  withDir(async (dir) => {
    const old = process.umask(0);
    try {
      const nested = join(dir, 'a', 'b');
      const store = new IdentityStore(nested);
      await store.init();
      await store.loadOrCreateKey();
      await store.saveIdentity(identity);
      await store.nextSession();
      for (const d of [dir, join(dir, 'a'), nested]) assert.equal(await mode(d), 0o700, d);
      for (const f of await readdir(nested)) assert.equal(await mode(join(nested, f)), 0o600, f);
      assert.deepEqual((await readdir(nested)).sort(), [IDENTITY_FILE, KEY_FILE, SESSION_FILE].sort());
    } finally {
      process.umask(old);
    }
  }));

void test('init tightens an identity restored with loose modes (e.g. copied back from a backup with cp)', () =>
  withDir(async (dir) => {
    const store = new IdentityStore(dir);
    await store.init();
    await store.loadOrCreateKey();
    await store.saveIdentity(identity);
    await store.nextSession();
    for (const f of [IDENTITY_FILE, KEY_FILE, SESSION_FILE]) await chmod(join(dir, f), 0o644);
    await writeFile(join(dir, 'notes.txt'), 'the operator\'s own file');
    await chmod(join(dir, 'notes.txt'), 0o644);
    await chmod(dir, 0o755);

    await new IdentityStore(dir).init();
    assert.equal(await mode(dir), 0o700);
    for (const f of [IDENTITY_FILE, KEY_FILE, SESSION_FILE]) assert.equal(await mode(join(dir, f)), 0o600, f);
    assert.equal(await mode(join(dir, 'notes.txt')), 0o644, 'only the store\'s own files are changed');
    assert.deepEqual(await new IdentityStore(dir).loadIdentity(), identity);
  }));
