import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IDENTITY_FILE, IdentityStore, KEY_FILE, type Identity } from './identity-store.js';

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
