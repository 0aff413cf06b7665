import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ConfigStore } from './config-store.js';
import { EXIT } from './errors.js';
import { authedClient, pickHub, type Io } from './session.js';

const stored = { hub: 'http://hub-a:8080', token: 't', user: 'admin', expiresAt: '2030-01-01T00:00:00Z' };

void describe('pickHub', () => {
  void it('prefers --hub, then PIFLEET_HUB, then the stored login, and normalises the URL', () => {
    assert.equal(pickHub('hub-c:1/', { PIFLEET_HUB: 'http://hub-b' }, stored), 'http://hub-c:1');
    assert.equal(pickHub(undefined, { PIFLEET_HUB: 'https://hub-b/' }, stored), 'https://hub-b');
    assert.equal(pickHub(undefined, { PIFLEET_HUB: '' }, stored), 'http://hub-a:8080');
    assert.equal(pickHub(undefined, {}, undefined), undefined);
  });

  void it('rejects URLs that are not http(s) as usage errors', () => {
    assert.throws(() => pickHub('ftp://x', {}, undefined), { exitCode: EXIT.usage });
  });
});

void describe('authedClient', () => {
  let dir: string;
  const io = (env: NodeJS.ProcessEnv, now = '2025-01-01T00:00:00Z'): Io => ({
    env: { PIFLEET_CONFIG: dir, ...env },
    stdin: process.stdin,
    stdout: { write: () => true },
    stderr: { write: () => true },
    fetch,
    now: () => new Date(now),
  });
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'pifleet-cli-session-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  void it('asks to log in (exit 3) when there is no login at all', async () => {
    await assert.rejects(authedClient(io({}), undefined), { exitCode: EXIT.auth, message: /not logged in.*; run: pifleet login$/ });
    await assert.rejects(authedClient(io({}), 'http://x'), { exitCode: EXIT.auth, message: /not logged in to http:\/\/x/ });
  });

  void it('uses PIFLEET_TOKEN without a stored login when a hub is given', async () => {
    const c = await authedClient(io({ PIFLEET_TOKEN: 'ci', PIFLEET_HUB: 'http://ci-hub' }), undefined);
    assert.equal(c.hub, 'http://ci-hub');
  });

  void it('uses the stored login only for its own hub, so --hub never leaks it elsewhere', async () => {
    await new ConfigStore(dir).save(stored);
    assert.equal((await authedClient(io({}), undefined)).hub, 'http://hub-a:8080');
    assert.equal((await authedClient(io({}), 'hub-a:8080/')).hub, 'http://hub-a:8080');
    await assert.rejects(authedClient(io({}), 'http://other'), { exitCode: EXIT.auth, message: /logged in to http:\/\/hub-a:8080/ });
  });

  void it('refuses an expired login before calling the hub', async () => {
    await new ConfigStore(dir).save(stored);
    await assert.rejects(authedClient(io({}, '2031-01-01T00:00:00Z'), undefined), {
      exitCode: EXIT.auth,
      message: /expired at 2030-01-01T00:00:00Z; run: pifleet login/,
    });
  });
});
