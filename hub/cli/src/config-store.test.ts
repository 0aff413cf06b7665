import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile, mkdir } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigStore, configDir } from './config-store.js';

const login = { hub: 'http://hub:8080', token: 'secret-token', user: 'admin', expiresAt: '2030-01-01T00:00:00.000Z' };

void describe('ConfigStore', () => {
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'pifleet-cli-config-'));
  });
  after(async () => {
    await rm(root, { recursive: true, force: true });
  });

  void it('creates the directory 0700 and config.json 0600, and reads back what it wrote', async () => {
    const store = new ConfigStore(join(root, 'a', 'pifleet'));
    await store.save(login);
    assert.equal((await stat(store.dir)).mode & 0o777, 0o700);
    assert.equal((await stat(store.file)).mode & 0o777, 0o600);
    assert.deepEqual(await store.load(), login);
  });

  void it('keeps 0600 when overwriting a file that had looser permissions', async () => {
    const store = new ConfigStore(join(root, 'b'));
    await mkdir(store.dir, { recursive: true });
    await writeFile(store.file, '{}', { mode: 0o644 });
    await store.save(login);
    assert.equal((await stat(store.file)).mode & 0o777, 0o600);
    assert.deepEqual(JSON.parse(await readFile(store.file, 'utf8')), login);
  });

  void it('treats a missing file as not logged in and clear() as idempotent', async () => {
    const store = new ConfigStore(join(root, 'c'));
    assert.equal(await store.load(), undefined);
    assert.equal(await store.clear(), false);
    await store.save(login);
    assert.equal(await store.clear(), true);
    assert.equal(await store.load(), undefined);
  });

  void it('reports a corrupt file instead of silently logging out', async () => {
    const store = new ConfigStore(join(root, 'd'));
    await mkdir(store.dir, { recursive: true });
    await writeFile(store.file, 'not json');
    await assert.rejects(store.load(), /not valid JSON/);
    await writeFile(store.file, '{"hub": 1}');
    await assert.rejects(store.load(), /unexpected shape/);
  });

  void it('lives in $PIFLEET_CONFIG, else ~/.config/pifleet', () => {
    assert.equal(configDir({ PIFLEET_CONFIG: '/x/y' }), '/x/y');
    assert.equal(configDir({ PIFLEET_CONFIG: '' }), join(homedir(), '.config', 'pifleet'));
    assert.equal(configDir({}), join(homedir(), '.config', 'pifleet'));
  });
});
