import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ConfigError, parseEnv } from './env.js';
import { HubConfig } from './hub-config.js';

void test('without PIFLEET_TLS_* the hub stays on http:// and mqtt://', () => {
  const c = new HubConfig(parseEnv({ PIFLEET_HTTP_PORT: '8080', PIFLEET_MQTT_PORT: '1883' }));
  assert.equal(c.tls, undefined);
  assert.equal(c.publicUrl, 'http://localhost:8080');
  assert.equal(c.deviceMqttUrl, 'mqtt://localhost:1883');
});

void test('PIFLEET_TLS_CERT without PIFLEET_TLS_KEY (or the reverse) is a ConfigError', () => {
  for (const env of [{ PIFLEET_TLS_CERT: '/etc/pifleet/cert.pem' }, { PIFLEET_TLS_KEY: '/etc/pifleet/key.pem' }]) {
    assert.throws(() => parseEnv(env), (e: Error) => e instanceof ConfigError && /must be set together/.test(e.message));
  }
});

void test('an unreadable or non-PEM TLS file is a ConfigError naming the variable and the path', () => {
  const dir = mkdtempSync(join(tmpdir(), 'pifleet-tls-config-'));
  try {
    const missing = join(dir, 'nope.pem');
    const env = parseEnv({ PIFLEET_TLS_CERT: missing, PIFLEET_TLS_KEY: missing });
    assert.throws(
      () => new HubConfig(env),
      (e: Error) => e instanceof ConfigError && e.message.includes('PIFLEET_TLS_CERT') && e.message.includes(missing) && /ENOENT/.test(e.message),
    );
    const junk = join(dir, 'junk.pem');
    writeFileSync(junk, 'not a certificate\n');
    assert.throws(
      () => new HubConfig(parseEnv({ PIFLEET_TLS_CERT: junk, PIFLEET_TLS_KEY: junk })),
      (e: Error) => e instanceof ConfigError && e.message.includes(junk),
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
