import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DEFAULT_KEEPALIVE_S, TELEMETRY_PUBLISH_MS, TELEMETRY_SAMPLE_MS } from '@pifleet/protocol';
import { ConfigError, parseConfig, type AgentConfig } from './config.js';

function run(argv: string[], env: NodeJS.ProcessEnv = {}): AgentConfig {
  const r = parseConfig(argv, env);
  assert.equal(r.kind, 'run');
  return (r as { config: AgentConfig }).config;
}

void test('defaults from the protocol limits', () => {
  const c = run([]);
  assert.equal(c.keepaliveS, DEFAULT_KEEPALIVE_S);
  assert.equal(c.sampleMs, TELEMETRY_SAMPLE_MS);
  assert.equal(c.publishMs, TELEMETRY_PUBLISH_MS);
  assert.equal(c.reconnectMaxMs, 15_000);
  assert.equal(c.logLevel, 'info');
  assert.equal(c.dataDir, undefined);
});

void test('env is read, flags win over env, trailing slash dropped from the hub URL', () => {
  const env = {
    PIFLEET_HUB: 'https://hub.example/',
    PIFLEET_TOKEN: 'tok-from-env-123',
    PIFLEET_AGENT_DATA_DIR: '/data',
    PIFLEET_AGENT_KEEPALIVE: '30',
    PIFLEET_AGENT_SAMPLE_MS: '5000',
  };
  const c = run(['--keepalive', '2', '--name', 'kitchen-pi'], env);
  assert.equal(c.hubUrl, 'https://hub.example');
  assert.equal(c.token, 'tok-from-env-123');
  assert.equal(c.dataDir, '/data');
  assert.equal(c.keepaliveS, 2);
  assert.equal(c.sampleMs, 5000);
  assert.equal(c.name, 'kitchen-pi');
});

void test('--ca and PIFLEET_AGENT_CA name the extra CA file', () => {
  assert.equal(run([]).caFile, undefined);
  assert.equal(run([], { PIFLEET_AGENT_CA: '/etc/pifleet/ca.pem' }).caFile, '/etc/pifleet/ca.pem');
  assert.equal(run(['--ca', './ca.pem'], { PIFLEET_AGENT_CA: '/etc/pifleet/ca.pem' }).caFile, './ca.pem');
});

void test('empty env values count as unset', () => {
  assert.equal(run([], { PIFLEET_AGENT_KEEPALIVE: '' }).keepaliveS, DEFAULT_KEEPALIVE_S);
});

void test('bad values give a one-line error naming the flag, never echoing the token', () => {
  const bad: [string[], RegExp][] = [
    [['--keepalive', 'soon'], /--keepalive/],
    [['--hub', 'ftp://x'], /--hub.*http/],
    [['--name', 'has space'], /--name/],
    [['--sample-interval', '5'], /--sample-interval/],
    [['--log-level', 'loud'], /--log-level/],
    [['--frobnicate'], /frobnicate/],
  ];
  for (const [argv, re] of bad) {
    assert.throws(() => parseConfig(argv, {}), (e: Error) => e instanceof ConfigError && re.test(e.message) && !e.message.includes('\n'));
  }
  assert.throws(
    () => parseConfig(['--token', 'short'], {}),
    (e: Error) => e instanceof ConfigError && /--token/.test(e.message) && !e.message.includes('short'),
  );
});

void test('--help and --version', () => {
  assert.equal(parseConfig(['--help'], {}).kind, 'help');
  assert.equal(parseConfig(['--version'], {}).kind, 'version');
});

void test('the token comes from --token, --token-file, PIFLEET_TOKEN or PIFLEET_TOKEN_FILE; only --token is in the arguments', () => {
  const flag = run(['--token', 'tok-on-the-command-line']);
  assert.equal(flag.token, 'tok-on-the-command-line');
  assert.equal(flag.tokenInArgs, true);
  assert.equal(run(['--token=tok-on-the-command-line']).tokenInArgs, true);

  const env = run([], { PIFLEET_TOKEN: 'tok-from-env-123' });
  assert.equal(env.token, 'tok-from-env-123');
  assert.equal(env.tokenInArgs, false);

  const file = run(['--token-file', '/etc/pifleet/token']);
  assert.deepEqual([file.token, file.tokenFile, file.tokenInArgs], [undefined, '/etc/pifleet/token', false]);
  assert.equal(run([], { PIFLEET_TOKEN_FILE: '/run/secrets/token' }).tokenFile, '/run/secrets/token');

  // A flag for either overrides the environment for both.
  const fileOverEnv = run(['--token-file', '/t'], { PIFLEET_TOKEN: 'tok-from-env-123' });
  assert.deepEqual([fileOverEnv.token, fileOverEnv.tokenFile], [undefined, '/t']);
  const tokenOverEnv = run(['--token', 'tok-on-the-command-line'], { PIFLEET_TOKEN_FILE: '/t' });
  assert.deepEqual([tokenOverEnv.token, tokenOverEnv.tokenFile], ['tok-on-the-command-line', undefined]);
});

void test('two tokens at the same level are an error that names the options, not the token', () => {
  assert.throws(
    () => parseConfig(['--token', 'tok-on-the-command-line', '--token-file', '/t'], {}),
    (e: Error) => e instanceof ConfigError && /--token and --token-file/.test(e.message) && !e.message.includes('tok-on'),
  );
  assert.throws(
    () => parseConfig([], { PIFLEET_TOKEN: 'tok-from-env-123', PIFLEET_TOKEN_FILE: '/t' }),
    (e: Error) => e instanceof ConfigError && /PIFLEET_TOKEN and PIFLEET_TOKEN_FILE/.test(e.message) && !e.message.includes('tok-from'),
  );
});
