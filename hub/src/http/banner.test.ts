import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { INITIAL_PASSWORD_FILE } from '../users/admin-bootstrap.service.js';
import { banner } from './banner.js';
import { startHub } from './start-hub.js';

function hubEnv(dataDir: string, adminPassword?: string): Record<string, string | undefined> {
  return {
    PIFLEET_HTTP_PORT: '0',
    PIFLEET_HTTP_HOST: '127.0.0.1',
    PIFLEET_MQTT_PORT: '0',
    PIFLEET_MQTT_HOST: '127.0.0.1',
    PIFLEET_DATA_DIR: dataDir,
    PIFLEET_ADMIN_PASSWORD: adminPassword,
    PIFLEET_LOG_LEVEL: 'silent',
    DATABASE_URL: undefined,
    MQTT_URL: undefined,
  };
}

async function bannerOfOneStart(env: Record<string, string | undefined>): Promise<string> {
  const hub = await startHub({ env });
  try {
    return banner(hub);
  } finally {
    await hub.close();
  }
}

test('a generated admin password is printed by the start that generated it, and never again', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pifleet-hub-test-'));
  const env = hubEnv(dataDir);
  const file = join(dataDir, INITIAL_PASSWORD_FILE);
  try {
    const first = await bannerOfOneStart(env);
    const password = readFileSync(file, 'utf8').trim();
    assert.ok(password.length >= 16);
    assert.ok(first.includes(`admin / ${password}`), `first start shows the generated password:\n${first}`);
    assert.match(first, /shown only this once/);
    assert.ok(first.includes(INITIAL_PASSWORD_FILE), 'and says where it is kept');

    // Later starts point at the file (still there) without echoing its content.
    for (let i = 0; i < 2; i++) {
      const later = await bannerOfOneStart(env);
      assert.ok(!later.includes(password), `restart ${i + 1} must not print the password:\n${later}`);
      // The path is shown relative to the working directory when below it, else absolute.
      assert.match(later, new RegExp(`login: +admin password: see \\S*${INITIAL_PASSWORD_FILE} \\(delete it once changed\\)`), later);
    }

    // Once the operator deleted the file, the banner says the password was set on first start.
    unlinkSync(file);
    const deleted = await bannerOfOneStart(env);
    assert.ok(!deleted.includes(password));
    assert.match(deleted, /set on first start/);
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});

test('with PIFLEET_ADMIN_PASSWORD the banner never shows a password', async () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'pifleet-hub-test-'));
  const secret = 'env-admin-password-not-to-print';
  try {
    for (let i = 0; i < 2; i++) {
      const text = await bannerOfOneStart(hubEnv(dataDir, secret));
      assert.ok(!text.includes(secret), text);
      assert.match(text, /PIFLEET_ADMIN_PASSWORD/);
    }
  } finally {
    rmSync(dataDir, { recursive: true, force: true });
  }
});
