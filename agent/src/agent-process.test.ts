/**
 * The compiled agent as a real process against a real in-process MQTT broker (aedes) and a
 * minimal enroll endpoint: identity persistence, presence with Will and sessions, telemetry.
 */
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { lstat, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { HUB_STATUS_TOPIC, TelemetryMessageSchema, decodeSamples, deviceTopic, envelope } from '@pifleet/protocol';
import { AgentProcess } from './testing/agent-process.js';
import { TEST_DEVICE_ID, TEST_MQTT_PASSWORD, enrolled, startEnrollServer, type EnrollServer } from './testing/enroll-server.js';
import { TestBroker, Watcher, type Seen } from './testing/test-broker.js';
import { waitFor } from './testing/wait.js';

const TOKEN = 'pf_tok_a1b2c3d4e5f6';
const STATUS = deviceTopic(TEST_DEVICE_ID, 'status');

interface Scene {
  dir: string;
  broker: TestBroker;
  hub: EnrollServer;
  watcher: Watcher;
  agent(extra?: string[], opts?: { umask?: number }): AgentProcess;
}

async function scene(t: TestContext, brokerOpts: Parameters<typeof TestBroker.start>[0] = {}): Promise<Scene> {
  const base = await mkdtemp(join(tmpdir(), 'pifleet-agent-'));
  const broker = await TestBroker.start(brokerOpts);
  const hub = await startEnrollServer(broker.url);
  const watcher = await Watcher.connect(broker.url);
  const agents: AgentProcess[] = [];
  const dir = join(base, 'data');
  t.after(async () => {
    for (const a of agents) await a.kill();
    await watcher.close();
    await hub.close();
    await broker.stop();
    await rm(base, { recursive: true, force: true });
  });
  return {
    dir,
    broker,
    hub,
    watcher,
    agent: (extra = [], opts = {}) => {
      const a = AgentProcess.spawn([
        '--hub', hub.url, '--token', TOKEN, '--data-dir', dir, '--keepalive', '2', '--reconnect-max', '1000',
        '--log-level', 'debug', ...extra,
      ], {}, opts);
      agents.push(a);
      return a;
    },
  };
}

const statusOf = (w: Watcher, state: string, session: number): Seen | undefined =>
  w.statuses().find((s) => s.topic === STATUS && s.json['state'] === state && s.json['session'] === session);

const mode = async (p: string): Promise<number> => (await stat(p)).mode & 0o777;

void test('enrolls once, keeps a private identity, and never calls enroll again', async (t) => {
  const s = await scene(t);
  const first = s.agent();
  const online = await waitFor('online status, session 1', () => statusOf(s.watcher, 'online', 1));
  assert.equal(s.hub.requests.length, 1);
  assert.match(s.hub.requests[0]!.publicKey, /^ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI/);
  const info = online.json['info'] as Record<string, unknown>;
  assert.equal(typeof info['hostname'], 'string');
  assert.equal(typeof info['cpus'], 'number');
  assert.equal(info['agentVersion'], '0.1.0');

  assert.equal(await mode(s.dir), 0o700);
  assert.equal(await mode(join(s.dir, 'identity.json')), 0o600);
  assert.equal(await mode(join(s.dir, 'device-key.pem')), 0o600);

  first.child.kill('SIGTERM');
  assert.deepEqual(await first.exit(), { code: 0, signal: null });

  // Second start: the token is still passed, but it is not used.
  const second = s.agent();
  await waitFor('online status, session 2', () => statusOf(s.watcher, 'online', 2));
  assert.equal(s.hub.requests.length, 1);
  second.child.kill('SIGTERM');
  assert.equal((await second.exit()).code, 0);

  // Third start without hub or token at all.
  const third = AgentProcess.spawn(['--data-dir', s.dir, '--keepalive', '2']);
  t.after(() => third.kill());
  await waitFor('online status, session 3', () => statusOf(s.watcher, 'online', 3));
  third.child.kill('SIGTERM');
  assert.equal((await third.exit()).code, 0);

  for (const a of [first, second, third]) {
    assert.ok(!a.stderr.includes(TOKEN), 'token never logged');
    assert.ok(!a.stderr.includes(TEST_MQTT_PASSWORD), 'mqtt password never logged');
    assert.ok(a.logs().length > 0 && a.logs().length === a.lines.filter(Boolean).length, 'every line is JSON');
  }
});

void test('kill -9 lets the broker publish the Will for that session; restart comes back with the next one', async (t) => {
  const s = await scene(t);
  const a = s.agent();
  const online = await waitFor('online', () => s.watcher.statuses().find((m) => m.json['state'] === 'online'));
  const n = online.json['session'] as number;
  assert.equal(online.retain, false, 'live delivery to an existing subscriber'); // MQTT-3.3.1-9

  a.child.kill('SIGKILL');
  const will = await waitFor('Will offline', () => statusOf(s.watcher, 'offline', n), 2 * 1500 + 2000);
  assert.equal(will.json['type'], 'status');

  // The Will is retained: a hub subscribing now sees the device offline.
  const late = await Watcher.connect(s.broker.url);
  t.after(() => late.close());
  await waitFor('retained offline', () => late.statuses().find((m) => m.retain && m.json['state'] === 'offline'));

  const b = s.agent();
  await waitFor('online again with session n+1', () => statusOf(s.watcher, 'online', n + 1));
  b.child.kill('SIGTERM');
  assert.deepEqual(await b.exit(), { code: 0, signal: null });
  await waitFor('clean offline for n+1', () => statusOf(s.watcher, 'offline', n + 1));
});

void test('reconnects with a new session after the broker restarts', async (t) => {
  const s = await scene(t);
  const a = s.agent();
  await waitFor('online 1', () => statusOf(s.watcher, 'online', 1));
  await s.watcher.close();
  await s.broker.restart();
  const w = await Watcher.connect(s.broker.url);
  t.after(() => w.close());
  // --reconnect-max 1000 bounds each wait to 1 s; a few attempts may hit the restart window.
  const back = await waitFor('online after restart', () => w.statuses().find((m) => m.json['state'] === 'online'), 10_000);
  assert.ok((back.json['session'] as number) >= 2);
  assert.ok(a.logs().some((l) => l['msg'] === 'mqtt reconnect scheduled'));
});

void test('telemetry arrives in compact batches with sensible values', async (t) => {
  const s = await scene(t);
  s.agent(['--sample-interval', '200', '--publish-interval', '1000']);
  const count = (): number => s.watcher.telemetry().reduce((n, m) => n + ((m.json['samples'] as unknown[]) ?? []).length, 0);
  await waitFor('five telemetry samples', () => (count() >= 5 ? true : undefined));
  const batches = s.watcher.telemetry();
  const samples = batches.flatMap((b) => {
    const msg = TelemetryMessageSchema.parse(b.json);
    assert.equal(msg.fields, undefined);
    return decodeSamples(msg.ts, msg.samples).map((x) => ({ ...x, sentAt: msg.ts }));
  });
  for (const x of samples) {
    assert.ok(x.cpu !== null && x.cpu >= 0 && x.cpu <= 1000, `cpu permille ${x.cpu}`);
    assert.ok(x.memUsed !== null && x.memTotal !== null && x.memUsed <= x.memTotal && x.memTotal > 0);
    assert.ok(x.diskUsed !== null && x.diskTotal !== null && x.diskUsed <= x.diskTotal);
    assert.ok(x.load1 !== null && x.load1 >= 0);
    assert.ok(x.uptime !== null && x.uptime > 0);
    assert.ok(x.agentRss !== null && x.agentRss > 10_000 && x.agentRss < 1_000_000, `agent rss KiB ${x.agentRss}`);
    assert.ok(x.agentCpu !== null && x.agentCpu >= 0);
    assert.ok(x.netRx !== null && x.netRx >= 0);
    assert.ok(x.ts <= x.sentAt && x.ts > x.sentAt - 5000);
  }
  const raw = JSON.stringify(batches[0]!.json);
  assert.ok(!raw.includes('\n') && !raw.includes('"cpu"'), 'columnar, no field names per sample');
});

void test('holds telemetry while the hub is offline and sends the backlog when it returns', async (t) => {
  const s = await scene(t);
  await s.watcher.publish(HUB_STATUS_TOPIC, JSON.stringify({ ...envelope('hub-status'), state: 'offline' }), true);
  const a = s.agent(['--sample-interval', '200', '--publish-interval', '500']);
  await waitFor('online', () => statusOf(s.watcher, 'online', 1));
  await new Promise((r) => setTimeout(r, 2000));
  assert.equal(s.watcher.telemetry().length, 0, 'nothing sent while the hub is offline');
  await s.watcher.publish(HUB_STATUS_TOPIC, JSON.stringify({ ...envelope('hub-status'), state: 'online' }), true);
  const first = await waitFor('backlog', () => s.watcher.telemetry()[0], 5000);
  const msg = TelemetryMessageSchema.parse(first.json);
  assert.ok(msg.samples.length >= 6, `backlog of ${msg.samples.length} samples`);
  const dts = msg.samples.map((r) => r[0] as number);
  assert.ok(Math.max(...dts) >= 2, 'oldest sample is seconds old');
  assert.ok(a.logs().some((l) => l['msg'] === 'hub status' && l['state'] === 'offline'));
});

void test('a refused token exits 3 with one line and no retry', async (t) => {
  const s = await scene(t);
  s.hub.reply = () => ({ status: 401, body: { code: 'token_revoked', message: 'provisioning token revoked' } });
  const a = s.agent();
  const { code } = await a.exit();
  assert.equal(code, 3);
  const last = a.lines.filter(Boolean).at(-1)!;
  assert.match(last, /^pifleet-agent: enrollment refused by hub \(401 token_revoked\)/);
  assert.equal(s.hub.requests.length, 1);
  assert.ok(!a.stderr.includes(TOKEN));
});

void test('bad configuration exits 2 with one line', async () => {
  const a = AgentProcess.spawn(['--keepalive', 'often']);
  assert.equal((await a.exit()).code, 2);
  assert.equal(a.lines.filter(Boolean).length, 1);
  assert.match(a.lines[0]!, /^pifleet-agent: invalid configuration: --keepalive/);
});

void test('a refused device credential is reported and retried, not fatal', async (t) => {
  const s = await scene(t, {
    authenticate: (_client, username, _password, done) => done(null, username !== TEST_DEVICE_ID),
  });
  const a = s.agent();
  await waitFor('credential refused log', () => a.logs().find((l) => l['msg'] === 'device credential refused (revoked?)'));
  assert.equal(a.child.exitCode, null, 'still running');
  a.child.kill('SIGTERM');
  assert.equal((await a.exit()).code, 0);
});

/** Every entry under `root` (root included) whose mode lets group or others in, as "mode path". */
async function loose(root: string): Promise<string[]> {
  const out: string[] = [];
  const visit = async (p: string): Promise<void> => {
    const st = await lstat(p);
    if ((st.mode & 0o077) !== 0) out.push(`${(st.mode & 0o777).toString(8)} ${p}`);
    if (st.isDirectory()) for (const e of await readdir(p)) await visit(join(p, e));
  };
  await visit(root);
  return out;
}

const argsWarnings = (a: AgentProcess): Record<string, unknown>[] =>
  a.logs().filter((l) => l['level'] === 'warn' && /process arguments/.test(String(l['msg'])));

void test('a --token on the command line leaves the process arguments at start, and is warned about once', async (t) => {
  const s = await scene(t);
  // The hub is "down" at first: the agent is still enrolling, so it still holds the token.
  s.hub.reply = () => ({ status: 503, body: { code: 'unavailable', message: 'try later' } });
  const a = s.agent();
  await waitFor('first enroll attempt', () => s.hub.requests[0]);
  assert.equal(s.hub.requests[0]!.token, TOKEN);
  const during = a.cmdline();
  assert.ok(!during.includes(TOKEN), `token hidden while enrolling: ${during}`);
  assert.match(during, /--token \[hidden\]/);
  assert.ok(during.includes(`--data-dir ${s.dir}`), 'the other arguments stay readable for ps');

  s.hub.reply = () => ({ status: 200, body: enrolled(s.broker.url) });
  await waitFor('online status, session 1', () => statusOf(s.watcher, 'online', 1));
  assert.ok(!a.cmdline().includes(TOKEN), 'still hidden after enrollment');

  const warnings = argsWarnings(a);
  assert.equal(warnings.length, 1, a.stderr);
  assert.match(String(warnings[0]!['msg']), /PIFLEET_TOKEN.*--token-file/);
  assert.ok(!a.stderr.includes(TOKEN));
  a.child.kill('SIGTERM');
  assert.equal((await a.exit()).code, 0);
});

void test('--token-file and PIFLEET_TOKEN_FILE: read only to enroll, never logged, nothing to hide', async (t) => {
  const s = await scene(t);
  const file = join(dirname(s.dir), 'provisioning-token');
  await writeFile(file, `${TOKEN}\n`, { mode: 0o600 });
  const a = AgentProcess.spawn(['--hub', s.hub.url, '--token-file', file, '--data-dir', s.dir, '--keepalive', '2']);
  t.after(() => a.kill());
  await waitFor('online status, session 1', () => statusOf(s.watcher, 'online', 1));
  assert.equal(s.hub.requests[0]!.token, TOKEN, 'the file\'s content, trimmed');
  assert.ok(!a.cmdline().includes(TOKEN));
  assert.deepEqual(argsWarnings(a), []);
  assert.ok(!a.stderr.includes(TOKEN));
  a.child.kill('SIGTERM');
  assert.equal((await a.exit()).code, 0);

  // Enrolled: the token is not needed again, so a file removed after provisioning is no error.
  await rm(file);
  const b = AgentProcess.spawn(['--data-dir', s.dir, '--keepalive', '2'], { PIFLEET_TOKEN_FILE: file });
  t.after(() => b.kill());
  await waitFor('online status, session 2', () => statusOf(s.watcher, 'online', 2));
  assert.equal(s.hub.requests.length, 1);
  b.child.kill('SIGTERM');
  assert.equal((await b.exit()).code, 0);
});

void test('PIFLEET_TOKEN enrolls without a warning', async (t) => {
  const s = await scene(t);
  const a = AgentProcess.spawn(['--hub', s.hub.url, '--data-dir', s.dir, '--keepalive', '2'], { PIFLEET_TOKEN: TOKEN });
  t.after(() => a.kill());
  await waitFor('online status, session 1', () => statusOf(s.watcher, 'online', 1));
  assert.equal(s.hub.requests[0]!.token, TOKEN);
  assert.deepEqual(argsWarnings(a), []);
  a.child.kill('SIGTERM');
  assert.equal((await a.exit()).code, 0);
});

void test('an unreadable --token-file before enrollment exits 2 with one line naming the file', async (t) => {
  const base = await mkdtemp(join(tmpdir(), 'pifleet-agent-'));
  t.after(() => rm(base, { recursive: true, force: true }));
  const missing = join(base, 'no-such-token');
  const a = AgentProcess.spawn(['--hub', 'http://127.0.0.1:9', '--token-file', missing, '--data-dir', join(base, 'data')]);
  assert.equal((await a.exit()).code, 2);
  const last = a.lines.filter(Boolean).at(-1)!;
  assert.match(last, /^pifleet-agent: invalid configuration: --token-file \(PIFLEET_TOKEN_FILE\): cannot read .*no-such-token/);

  const both = AgentProcess.spawn(['--token', TOKEN, '--token-file', missing]);
  assert.equal((await both.exit()).code, 2);
  assert.match(both.lines[0]!, /^pifleet-agent: invalid configuration: .*--token.*--token-file/);
  assert.ok(!both.stderr.includes(TOKEN));
});

void test('under umask 000 the data dir and everything in it stay owner-only', async (t) => {
  const s = await scene(t);
  const a = s.agent([], { umask: 0 });
  await waitFor('online status, session 1', () => statusOf(s.watcher, 'online', 1));
  a.child.kill('SIGTERM');
  assert.equal((await a.exit()).code, 0);
  assert.deepEqual((await readdir(s.dir)).sort(), ['device-key.pem', 'identity.json', 'session', 'supervision']);
  assert.deepEqual(await loose(s.dir), []);
});
